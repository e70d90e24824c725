#!/usr/bin/env node
// ONNX Runtime (CPU EP, onnxruntime-node) latency for one model, printing one
// JSON object in the same shape as `citadel bench --json`:
//   {runtime, model, threads, warmup, iters, inputs, load_ms, median_ms,
//    p90_ms, min_ms, mean_ms, median_cpu_ms, peak_rss_mb}
// intra-op threads = --threads, inter-op threads = 1, sequential execution.
// Random inputs: floats in [-1, 1), integers in [0, 100) (as citadel bench).
//
// Usage: node ort_bench.js MODEL.onnx [--threads N] [--warmup W] [--iters K]
//                          [--dim NAME=VALUE ...] [--shape INPUT=1x3x224x224 ...]
//                          [--profile]
// --profile: ORT's own profiler (enableProfiling) records every node of the
// timed runs; the JSON gains `profile` {runs, nodes_ms, by_op, top_nodes}
// (per node the median over runs, as `citadel bench --profile`) and a table
// goes to stderr, for per-layer comparison with Citadel. The profiler's
// trace file is written to the OS temp dir and removed.
'use strict';
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { model: null, threads: 1, warmup: 3, iters: 20, dims: {}, shapes: {} };
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const next = () => { if (i + 1 >= argv.length) throw new Error(k + ' needs a value'); return argv[++i]; };
    if (k === '--threads') a.threads = parseInt(next(), 10);
    else if (k === '--warmup') a.warmup = parseInt(next(), 10);
    else if (k === '--iters') a.iters = parseInt(next(), 10);
    else if (k === '--dim') { const [n, v] = next().split('='); a.dims[n] = parseInt(v, 10); }
    else if (k === '--shape') { const [n, v] = next().split('='); a.shapes[n] = v.split('x').map(Number); }
    else if (k === '--json') { /* always JSON */ }
    else if (k === '--profile') a.profile = true;
    else if (!a.model) a.model = k;
    else throw new Error('unexpected argument ' + k);
  }
  if (!a.model) throw new Error('usage: node ort_bench.js MODEL.onnx [--threads N] ...');
  return a;
}

// Deterministic LCG so both runtimes see similar data without sharing files.
let seed = 1234;
function rnd() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }

function randomTensor(type, shape) {
  const n = shape.reduce((x, y) => x * y, 1);
  switch (type) {
    case 'float32': { const d = new Float32Array(n); for (let i = 0; i < n; ++i) d[i] = rnd() * 2 - 1; return new ort.Tensor(type, d, shape); }
    case 'float64': { const d = new Float64Array(n); for (let i = 0; i < n; ++i) d[i] = rnd() * 2 - 1; return new ort.Tensor(type, d, shape); }
    case 'int64': { const d = new BigInt64Array(n); for (let i = 0; i < n; ++i) d[i] = BigInt(Math.floor(rnd() * 100)); return new ort.Tensor(type, d, shape); }
    case 'int32': { const d = new Int32Array(n); for (let i = 0; i < n; ++i) d[i] = Math.floor(rnd() * 100); return new ort.Tensor(type, d, shape); }
    case 'bool': { const d = new Uint8Array(n); for (let i = 0; i < n; ++i) d[i] = rnd() < 0.5 ? 1 : 0; return new ort.Tensor(type, d, shape); }
    default: throw new Error('unsupported input type ' + type);
  }
}

function pct(sorted, q) {
  const idx = Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)));
  return sorted[idx];
}

// Reads ORT's trace (Chrome trace JSON: one "Node" event per kernel run,
// named "<node>_kernel_time", dur in microseconds) and summarizes the timed
// runs (the first `warmup` runs are skipped).
function summarizeProfile(session, prefix, warmup, iters) {
  const fs = require('fs'), path = require('path');
  session.endProfiling();
  const dir = path.dirname(prefix), base = path.basename(prefix);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  if (files.length === 0) throw new Error('ORT wrote no profile');
  const file = path.join(dir, files[0]);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const timed = runs.slice(warmup);
  const perNode = new Map();  // name -> {op, ms: [per run]}
  timed.forEach((run, ri) => {
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      if (e.ts < run.ts || e.ts > run.ts + run.dur) continue;
      const name = e.name.slice(0, -'_kernel_time'.length);
      let n = perNode.get(name);
      if (!n) { n = { op: (e.args && e.args.op_name) || '?', ms: new Array(timed.length).fill(0) }; perNode.set(name, n); }
      n.ms[ri] += e.dur / 1000;
    }
  });
  const median = (v) => { const s = v.slice().sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
  const nodes = [...perNode.entries()].map(([name, n]) => ({ name, op: n.op, ms: median(n.ms) }));
  const byOp = new Map();
  let total = 0;
  for (const n of nodes) {
    const o = byOp.get(n.op) || { op: n.op, ms: 0, nodes: 0 };
    o.ms += n.ms; o.nodes += 1; byOp.set(n.op, o); total += n.ms;
  }
  const ops = [...byOp.values()].sort((x, y) => y.ms - x.ms).map((o) => ({ ...o, pct: total > 0 ? 100 * o.ms / total : 0 }));
  const top = nodes.slice().sort((x, y) => y.ms - x.ms);
  let t = `ORT profile (${timed.length} runs; median ms per node)\nop                               ms      %  nodes\n`;
  for (const o of ops) t += `${o.op.padEnd(24)} ${o.ms.toFixed(3).padStart(9)} ${o.pct.toFixed(1).padStart(6)} ${String(o.nodes).padStart(6)}\n`;
  t += 'nodes in order\n';
  for (const n of nodes) t += `  ${n.name.padEnd(48)} ${n.op.padEnd(20)} ${n.ms.toFixed(3).padStart(8)}\n`;
  process.stderr.write(t);
  return { runs: timed.length, nodes_ms: total, by_op: ops, top_nodes: top.slice(0, 20), nodes };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const t0 = process.hrtime.bigint();
  const os = require('os'), fs = require('fs'), path = require('path');
  const profPrefix = path.join(os.tmpdir(), 'ort_bench_' + process.pid);
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    ...(a.profile ? { enableProfiling: true, profileFilePrefix: profPrefix } : {}),
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {};
  const shapesOut = {};
  const meta = session.inputMetadata || [];
  for (let i = 0; i < session.inputNames.length; ++i) {
    const name = session.inputNames[i];
    const m = meta[i] || {};
    let shape = a.shapes[name] || (m.shape || []).map((d) => (typeof d === 'number' && d >= 0 ? d : (a.dims[d] || 1)));
    const type = m.type || 'float32';
    feeds[name] = randomTensor(type, shape);
    shapesOut[name] = shape;
  }
  for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
  const ms = [];
  const cpuMs = [];  // process CPU time per run (all threads), as citadel bench
  for (let i = 0; i < a.iters; ++i) {
    const c = process.cpuUsage();
    const s = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - s) / 1e6);
    const d = process.cpuUsage(c);
    cpuMs.push((d.user + d.system) / 1e3);
  }
  const sorted = ms.slice().sort((x, y) => x - y);
  const cpuSorted = cpuMs.slice().sort((x, y) => x - y);
  const out = {
    runtime: 'onnxruntime-node ' + (ort.env.versions ? ort.env.versions.common : ''),
    model: a.model, threads: a.threads, warmup: a.warmup, iters: a.iters, inputs: shapesOut,
    load_ms: loadMs, median_ms: pct(sorted, 0.5), p90_ms: pct(sorted, 0.9), min_ms: sorted[0],
    mean_ms: ms.reduce((x, y) => x + y, 0) / ms.length,
    median_cpu_ms: pct(cpuSorted, 0.5),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
  if (a.profile) out.profile = summarizeProfile(session, profPrefix, a.warmup, a.iters);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write('error: ' + (e && e.message ? e.message : e) + '\n'); process.exit(1); });
