#!/usr/bin/env node
// ONNX Runtime (CPU execution provider, via onnxruntime-node) on the same
// libonnx-testdata cases as `citadel conformance`, classified the same way
// and written in the same JSON shape:
//   {"summary": {total, pass, fail, unsupported, error},
//    "folders": {folder: {...}}, "tests": [{name, folder, status, reason}]}
//
// Classification (mirrors src/engine/conformance.cc):
//   unsupported  session creation failed because ORT lacks a kernel/op/opset
//                or type (NOT_IMPLEMENTED, "Could not find an implementation",
//                unsupported opset/type), or a graph input/output is not a
//                tensor (sequence, map, optional), or the JS binding cannot
//                create a tensor of the input's type (e.g. bfloat16).
//   fail         any other session error, a run error, or a wrong output.
//   error        the case cannot be used (no model / data, unreadable data,
//                reference input contradicting the model's declared type or
//                shape).
// Tolerances: rtol 1e-3, atol 1e-7; NaN matches NaN; infinities and
// integers/bools/strings exactly.
//
// Usage: node conformance.js [--filter REGEX] [--json FILE] [--data DIR] [-v]
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// ---- a minimal protobuf reader (TensorProto, and ModelProto's graph inputs) --
class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; }
  eof() { return this.pos >= this.buf.length; }
  varint() {  // as BigInt (64-bit safe)
    let result = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }
  bytes() {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error('unsupported wire type ' + wire);
  }
  // Calls f(field, wire) for each field; f returns true if it consumed it.
  fields(f) {
    while (!this.eof()) {
      const key = Number(this.varint());
      const field = key >>> 3, wire = key & 7;
      if (!f(field, wire)) this.skip(wire);
    }
  }
}

// Reads a repeated scalar field that may be packed (wire 2) or not.
function repeated(r, wire, one, out) {
  if (wire === 2) {
    const sub = new Reader(r.bytes());
    while (!sub.eof()) out.push(one(sub));
  } else {
    out.push(one(r));
  }
}
const asVarint = (r) => r.varint();
const asFloat = (r) => { const v = r.buf.readFloatLE(r.pos); r.pos += 4; return v; };
const asDouble = (r) => { const v = r.buf.readDoubleLE(r.pos); r.pos += 8; return v; };

// ONNX TensorProto.DataType -> [ort type, typed array constructor, element bytes]
const TYPES = {
  1: ['float32', Float32Array, 4], 2: ['uint8', Uint8Array, 1], 3: ['int8', Int8Array, 1],
  4: ['uint16', Uint16Array, 2], 5: ['int16', Int16Array, 2], 6: ['int32', Int32Array, 4],
  7: ['int64', BigInt64Array, 8], 8: ['string', null, 0], 9: ['bool', Uint8Array, 1],
  10: ['float16', Uint16Array, 2], 11: ['float64', Float64Array, 8], 12: ['uint32', Uint32Array, 4],
  13: ['uint64', BigUint64Array, 8], 16: ['bfloat16', Uint16Array, 2],
};

function parseTensorProto(buf) {
  const r = new Reader(buf);
  const t = { dims: [], dataType: 0, name: '', raw: null, floats: [], ints32: [], ints64: [],
              doubles: [], uint64s: [], strings: [], external: false };
  r.fields((field, wire) => {
    switch (field) {
      case 1: repeated(r, wire, asVarint, t.dims); return true;
      case 2: t.dataType = Number(r.varint()); return true;
      case 4: repeated(r, wire, asFloat, t.floats); return true;
      case 5: repeated(r, wire, asVarint, t.ints32); return true;
      case 6: t.strings.push(Buffer.from(r.bytes()).toString('utf8')); return true;
      case 7: repeated(r, wire, asVarint, t.ints64); return true;
      case 8: t.name = Buffer.from(r.bytes()).toString('utf8'); return true;
      case 9: t.raw = r.bytes(); return true;
      case 10: repeated(r, wire, asDouble, t.doubles); return true;
      case 11: repeated(r, wire, asVarint, t.uint64s); return true;
      case 14: t.external = Number(r.varint()) === 1; return true;
      default: return false;
    }
  });
  if (t.external) throw new Error('external data in test data');
  const info = TYPES[t.dataType];
  if (!info) throw new Error('unsupported TensorProto data_type ' + t.dataType);
  const dims = t.dims.map((d) => BigInt.asIntN(64, d)).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const [type, Ctor, size] = info;
  let data;
  if (type === 'string') {
    data = t.strings;
  } else if (t.raw) {
    if (t.raw.length !== count * size) throw new Error('raw_data size mismatch');
    const copy = new Uint8Array(t.raw);  // aligned copy
    data = new Ctor(copy.buffer, 0, count);
  } else {
    data = new Ctor(count);
    let src;
    if (type === 'float32') src = t.floats;
    else if (type === 'float64') src = t.doubles;
    else if (type === 'int64') src = t.ints64.map((v) => BigInt.asIntN(64, v));
    else if (type === 'uint64' || type === 'uint32') src = t.uint64s.map((v) => (type === 'uint64' ? BigInt.asUintN(64, v) : Number(v)));
    else src = t.ints32.map((v) => Number(BigInt.asIntN(32, v)));
    if (src.length !== count) throw new Error('typed data size mismatch');
    for (let i = 0; i < count; ++i) data[i] = src[i];
  }
  return { name: t.name, type, dataType: t.dataType, dims, data };
}

// Graph inputs of a ModelProto: name -> {tensor, elemType, shape|null}.
function parseModelInputs(buf) {
  const inputs = new Map();
  let initializers = new Set();
  const model = new Reader(buf);
  model.fields((field, wire) => {
    if (field !== 7 || wire !== 2) return false;  // graph
    const g = new Reader(model.bytes());
    g.fields((gf, gw) => {
      if (gf === 5 && gw === 2) {  // initializer
        const ir = new Reader(g.bytes());
        ir.fields((f) => { if (f === 8) { initializers.add(Buffer.from(ir.bytes()).toString('utf8')); return true; } return false; });
        return true;
      }
      if (gf !== 11 || gw !== 2) return false;  // input
      const vi = new Reader(g.bytes());
      const info = { name: '', tensor: false, elemType: 0, shape: null };
      vi.fields((vf) => {
        if (vf === 1) { info.name = Buffer.from(vi.bytes()).toString('utf8'); return true; }
        if (vf !== 2) return false;
        const tp = new Reader(vi.bytes());
        tp.fields((tf) => {
          if (tf !== 1) return false;  // tensor_type
          info.tensor = true;
          const tt = new Reader(tp.bytes());
          tt.fields((ttf) => {
            if (ttf === 1) { info.elemType = Number(tt.varint()); return true; }
            if (ttf !== 2) return false;
            info.shape = [];
            const sh = new Reader(tt.bytes());
            sh.fields((sf) => {
              if (sf !== 1) return false;
              const dim = new Reader(sh.bytes());
              let v = -1;
              dim.fields((df) => { if (df === 1) { v = Number(BigInt.asIntN(64, dim.varint())); return true; } return false; });
              info.shape.push(v);
              return true;
            });
            return true;
          });
          return true;
        });
        return true;
      });
      inputs.set(info.name, info);
      return true;
    });
    return true;
  });
  for (const name of initializers) inputs.delete(name);
  return inputs;
}

// ---- comparison ---------------------------------------------------------------
function halfToFloat(h) {
  const s = (h & 0x8000) ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}
function bf16ToFloat(b) {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, b << 16, true);
  return buf.getFloat32(0, true);
}

function compare(expected, actualType, actualDims, actualData, rtol, atol) {
  if (expected.type !== actualType) return `dtype ${actualType}, expected ${expected.type}`;
  const es = JSON.stringify(expected.dims), as = JSON.stringify(actualDims.map(Number));
  if (es !== as) return `shape ${as}, expected ${es}`;
  const n = expected.dims.reduce((a, b) => a * b, 1);
  const isFloat = ['float32', 'float64', 'float16', 'bfloat16'].includes(expected.type);
  const conv = expected.type === 'float16' ? halfToFloat : expected.type === 'bfloat16' ? bf16ToFloat : (x) => x;
  for (let i = 0; i < n; ++i) {
    let e = expected.data[i], a = actualData[i];
    if (expected.type === 'bool') { e = e ? 1 : 0; a = a ? 1 : 0; }
    if (!isFloat) {
      if (e !== a) return `element ${i}: ${a}, expected ${e}`;
      continue;
    }
    e = conv(Number(e)); a = conv(Number(a));
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (e === a) continue;
      return `element ${i}: ${a}, expected ${e}`;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) return `element ${i}: ${a}, expected ${e}`;
  }
  return '';
}

// ---- the runner --------------------------------------------------------------
const UNSUPPORTED_PATTERNS = [
  /NOT_IMPLEMENTED/, /Could not find an implementation/, /is not supported/i,
  /not implemented/i, /Unsupported (data )?type/i, /opset .* is (under|not) /i,
  /No Op registered for/, /is not a registered function\/op/, /are not supported/, /ONNX Runtime only \*guarantees\* support for models stamped with/,
];

function numbered(dir, prefix) {
  const files = [];
  for (let i = 0; ; ++i) {
    const p = path.join(dir, `${prefix}_${i}.pb`);
    if (!fs.existsSync(p)) return files;
    files.push(p);
  }
}

async function runCase(caseDir, folder, opts) {
  const name = path.basename(caseDir);
  const res = (status, reason = '') => ({ name, folder, status, reason });
  const modelPath = path.join(caseDir, 'model.onnx');
  if (!fs.existsSync(modelPath)) return res('error', 'no model.onnx');
  const sets = fs.readdirSync(caseDir).filter((d) => d.startsWith('test_data_set_')).sort();
  if (!sets.length) return res('error', 'no test_data_set_*');
  let declared;
  try {
    declared = parseModelInputs(fs.readFileSync(modelPath));
  } catch (e) {
    return res('error', 'model: ' + e.message);
  }
  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'], logSeverityLevel: 3, intraOpNumThreads: 1,
    });
  } catch (e) {
    const msg = String(e.message || e).split('\n')[0];
    if (UNSUPPORTED_PATTERNS.some((p) => p.test(msg))) return res('unsupported', 'session: ' + msg);
    return res('fail', 'session: ' + msg);
  }
  try {
    const meta = session.inputMetadata || [];
    for (const m of [...meta, ...(session.outputMetadata || [])]) {
      if (m && m.isTensor === false) return res('unsupported', `graph input/output '${m.name}' is not a tensor`);
    }
    for (const set of sets) {
      const where = set + ': ';
      const feeds = {};
      const files = numbered(path.join(caseDir, set), 'input');
      for (let i = 0; i < files.length; ++i) {
        let t;
        try {
          t = parseTensorProto(fs.readFileSync(files[i]));
        } catch (e) {
          return res('error', where + 'input: ' + e.message);
        }
        let inName = t.name && session.inputNames.includes(t.name) ? t.name : session.inputNames[i];
        if (inName === undefined) return res('error', where + `input ${i} matches no model input`);
        const d = declared.get(inName);
        if (d && d.elemType === 16 && t.dataType === 4) { t.type = 'bfloat16'; t.dataType = 16; }
        if (d && d.elemType && d.elemType !== t.dataType) {
          return res('error', where + `reference input '${inName}' has ONNX type ${t.dataType} but the model declares ${d.elemType}`);
        }
        if (d && d.shape && (d.shape.length !== t.dims.length || d.shape.some((v, k) => v >= 0 && v !== t.dims[k]))) {
          return res('error', where + `reference input '${inName}' has shape [${t.dims}] but the model declares [${d.shape}]`);
        }
        try {
          feeds[inName] = new ort.Tensor(t.type, t.type === 'bool' ? Uint8Array.from(t.data, (v) => (v ? 1 : 0)) : t.data, t.dims);
        } catch (e) {
          return res('unsupported', where + `the JS binding cannot create a ${t.type} tensor: ${e.message}`);
        }
      }
      let out;
      try {
        out = await session.run(feeds);
      } catch (e) {
        const msg = String(e.message || e).split('\n')[0];
        return res('fail', where + 'run: ' + msg);
      }
      const outFiles = numbered(path.join(caseDir, set), 'output');
      if (outFiles.length !== session.outputNames.length) {
        return res('fail', where + `produced ${session.outputNames.length} outputs, reference has ${outFiles.length}`);
      }
      for (let i = 0; i < outFiles.length; ++i) {
        let want;
        try {
          want = parseTensorProto(fs.readFileSync(outFiles[i]));
        } catch (e) {
          return res('error', where + 'expected output: ' + e.message);
        }
        const got = out[session.outputNames[i]];
        if (want.type === 'uint16' && got.type === 'bfloat16') want.type = 'bfloat16';
        let data = got.data;
        if (got.type === 'float16' && !(data instanceof Uint16Array)) {
          // Newer bindings may hand back Float16Array; compare bit patterns as halves.
          data = new Uint16Array(data.buffer, data.byteOffset, data.length);
        }
        const diff = compare(want, got.type, got.dims, data, opts.rtol, opts.atol);
        if (diff) return res('fail', where + `output ${i} ('${session.outputNames[i]}'): ${diff}`);
      }
    }
    return res('pass');
  } finally {
    if (session.release) await session.release();
  }
}

function parseArgs(argv) {
  const o = { filter: null, json: null, data: '/usr/share/libonnx-testdata/data', verbose: false,
              rtol: 1e-3, atol: 1e-7, folders: ['node', 'simple', 'pytorch-converted', 'pytorch-operator'] };
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--filter') o.filter = new RegExp(argv[++i]);
    else if (a === '--json') o.json = argv[++i];
    else if (a === '--data') o.data = argv[++i];
    else if (a === '-v' || a === '--verbose') o.verbose = true;
    else { console.error(`unknown argument ${a}\nusage: conformance.js [--filter REGEX] [--json FILE] [--data DIR] [-v]`); process.exit(2); }
  }
  return o;
}

function summaryLine(label, s) {
  let line = `${label}: ${s.total} cases, ${s.pass} pass, ${s.fail} fail, ${s.unsupported} unsupported`;
  if (s.error) line += `, ${s.error} error`;
  if (s.total) line += ` (${(100 * s.pass / s.total).toFixed(1)}% pass)`;
  return line;
}

async function main() {
  const o = parseArgs(process.argv);
  if (!fs.existsSync(o.data)) { console.error(`error: ${o.data} does not exist (install libonnx-testdata)`); process.exit(1); }
  const empty = () => ({ total: 0, pass: 0, fail: 0, unsupported: 0, error: 0 });
  const report = { summary: empty(), folders: {}, tests: [], runtime: `onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''} (CPU EP)` };
  for (const folder of o.folders) {
    const fdir = path.join(o.data, folder);
    report.folders[folder] = empty();
    if (!fs.existsSync(fdir)) continue;
    const cases = fs.readdirSync(fdir).filter((n) => fs.statSync(path.join(fdir, n)).isDirectory()).sort();
    for (const name of cases) {
      if (o.filter && !o.filter.test(name) && !o.filter.test(`${folder}/${name}`)) continue;
      let r;
      try {
        r = await runCase(path.join(fdir, name), folder, o);
      } catch (e) {
        r = { name, folder, status: 'error', reason: 'harness: ' + (e.message || e) };
      }
      report.tests.push(r);
      for (const s of [report.summary, report.folders[folder]]) { s.total++; s[r.status]++; }
      if (o.verbose) console.error(`${r.status}\t${folder}/${name}${r.reason ? '\t' + r.reason : ''}`);
    }
  }
  for (const t of report.tests) if (t.status !== 'pass') console.log(`${t.status}\t${t.folder}/${t.name}\t${t.reason}`);
  for (const [f, s] of Object.entries(report.folders).sort()) console.log(summaryLine(f, s));
  console.log(summaryLine('overall', report.summary));
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(report, null, 1) + '\n');
}

main().catch((e) => { console.error('error: ' + (e.stack || e)); process.exit(1); });
