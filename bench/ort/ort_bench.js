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

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
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
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write('error: ' + (e && e.message ? e.message : e) + '\n'); process.exit(1); });
