#!/usr/bin/env node
// ort_compare.js - times ONNX Runtime (onnxruntime-node, CPU, intra/inter-op threads 1) next
// to `kiln bench --format json` on the same model and the same .npy inputs, rounds interleaved
// (ORT first in even rounds, kiln first in odd ones), and checks that both give the same
// outputs (`kiln run` vs ORT, max abs difference). Run through bench/ort_compare.sh, which
// installs the package. ORT is timed around session.run() from Node, so the binding's own cost
// (tens of microseconds per call) is inside its figure: it dominates microsecond-scale models.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const cp = require('child_process');

function usage(msg) {
  if (msg) process.stderr.write(`ort_compare: ${msg}\n`);
  process.stderr.write('usage: ort_compare.js --ort DIR [--kiln build/kiln] [--config O2] ' +
    '[--repeat N] [--warmup N] [--rounds R] [--seed N] [--format text|md] ' +
    '[--input [NAME=]X.npy]... MODEL.onnx...\n');
  process.exit(2);
}

const opt = { kiln: 'build/kiln', config: 'O2', repeat: 20, warmup: 3, rounds: 3, seed: 1,
              format: 'text', inputs: [], models: [], ort: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) usage(`missing value for ${a}`); return argv[++i]; };
  if (a === '--ort') opt.ort = val();
  else if (a === '--kiln') opt.kiln = val();
  else if (a === '--config') opt.config = val();
  else if (a === '--repeat') opt.repeat = parseInt(val(), 10);
  else if (a === '--warmup') opt.warmup = parseInt(val(), 10);
  else if (a === '--rounds') opt.rounds = parseInt(val(), 10);
  else if (a === '--seed') opt.seed = parseInt(val(), 10);
  else if (a === '--format') opt.format = val();
  else if (a === '--input') opt.inputs.push(val());
  else if (a === '-h' || a === '--help') usage();
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else opt.models.push(a);
}
if (!opt.ort || !opt.models.length) usage('no model given');
if (!(opt.repeat >= 1 && opt.rounds >= 1 && opt.warmup >= 0)) usage('bad --repeat/--rounds/--warmup');
if (opt.inputs.length && opt.models.length > 1) usage('--input applies to one model at a time');
const ort = require(path.resolve(opt.ort));
const ORT_VERSION = require(path.join(path.resolve(opt.ort), 'package.json')).version;

// ---- .npy in and out (format 1.0-3.0, little-endian, C order) ----
const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<f2': ['float16', Uint16Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array], '|i1': ['int8', Int8Array],
  '<u8': ['uint64', BigUint64Array], '<u4': ['uint32', Uint32Array],
  '<u2': ['uint16', Uint16Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
};
const DESCR = Object.fromEntries(Object.entries(NPY_TYPES).map(([k, v]) => [v[0], k]));

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const h = b.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(h)[1];
  if (/'fortran_order':\s*True/.test(h)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(h)[1].split(',').filter((s) => s.trim())
    .map((s) => parseInt(s, 10));
  const t = NPY_TYPES[descr];
  if (!t) throw new Error(`${file}: dtype ${descr} not handled`);
  const off = start + hlen;
  const bytes = b.subarray(off);
  const copy = new Uint8Array(bytes.length); // aligned for the typed array
  copy.set(bytes);
  const data = new t[1](copy.buffer, 0, bytes.length / t[1].BYTES_PER_ELEMENT);
  return { type: t[0], dims: shape, data };
}

function writeNpy(file, type, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let h = `{'descr': '${DESCR[type]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + h.length + 1) % 64);
  h += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

// ---- seeded random inputs of the model's types and shapes (floats [-1,1), ints [0,100)) ----
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensor(type, dims, rnd) {
  const n = dims.reduce((x, y) => x * y, 1);
  const T = NPY_TYPES[DESCR[type]];
  if (!T || type === 'float16') throw new Error(`random ${type} inputs are not handled; give --input`);
  const a = new T[1](n);
  for (let i = 0; i < n; i++) {
    const u = rnd();
    if (type === 'float32' || type === 'float64') a[i] = 2 * u - 1;
    else if (type === 'bool') a[i] = u < 0.5 ? 1 : 0;
    else if (a instanceof BigInt64Array || a instanceof BigUint64Array) a[i] = BigInt(Math.floor(100 * u));
    else a[i] = Math.floor(100 * u);
  }
  return a;
}

function median(v) {
  const s = [...v].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function toNumbers(data) {
  return Array.from(data, (x) => Number(x));
}

async function compareModel(model, tmp) {
  const so = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
               graphOptimizationLevel: 'all' };
  const session = await ort.InferenceSession.create(model, so);
  const rnd = mulberry32(opt.seed);
  const feeds = {};
  const kilnInputs = [];
  const given = {};
  opt.inputs.forEach((spec, k) => {
    const eq = spec.indexOf('=');
    const name = eq > 0 && !fs.existsSync(spec) ? spec.slice(0, eq) : session.inputNames[k];
    given[name] = eq > 0 && !fs.existsSync(spec) ? spec.slice(eq + 1) : spec;
  });
  const desc = [];
  for (const meta of session.inputMetadata) {
    const name = meta.name;
    let file = given[name], t;
    if (file) {
      t = readNpy(file);
    } else {
      const dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
      t = { type: meta.type, dims, data: randomTensor(meta.type, dims, rnd) };
      file = path.join(tmp, `${path.basename(model, '.onnx')}.${session.inputNames.indexOf(name)}.npy`);
      writeNpy(file, t.type, t.dims, t.data);
    }
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    kilnInputs.push('--input', `${name}=${file}`);
    desc.push(`${name} ${t.type}[${t.dims.join(',')}]${given[name] ? '' : ' random'}`);
  }
  // same outputs? kiln run vs ORT on these inputs
  const outDir = fs.mkdtempSync(path.join(tmp, 'out'));
  cp.execFileSync(opt.kiln, ['run', model, ...kilnInputs, '--output-dir', outDir],
                  { stdio: ['ignore', 'ignore', 'inherit'] });
  const ref = await session.run(feeds);
  let maxAbs = 0;
  for (const name of session.outputNames) {
    const file = path.join(outDir, `${name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_')}.npy`);
    if (!fs.existsSync(file)) continue;
    const k = toNumbers(readNpy(file).data), o = toNumbers(ref[name].data);
    for (let i = 0; i < o.length; i++) maxAbs = Math.max(maxAbs, Math.abs(k[i] - o[i]));
  }
  // interleaved rounds
  const ortMed = [], kilnMed = [];
  for (let w = 0; w < opt.warmup; w++) await session.run(feeds);
  const runOrt = async () => {
    const t = [];
    for (let i = 0; i < opt.repeat; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ortMed.push(median(t));
  };
  const runKiln = () => {
    const out = cp.execFileSync(opt.kiln, ['bench', model, '--configs', opt.config,
      '--repeat', String(opt.repeat), '--warmup', String(opt.warmup), '--no-rss',
      '--format', 'json', ...kilnInputs], { stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26 });
    kilnMed.push(JSON.parse(out.toString()).configs[0].latency_ms.median);
  };
  for (let r = 0; r < opt.rounds; r++) {
    if (r % 2 === 0) { await runOrt(); runKiln(); } else { runKiln(); await runOrt(); }
  }
  return { model, inputs: desc.join(', '), kiln: median(kilnMed), ort: median(ortMed), maxAbs };
}

function fmtMs(x) {
  return x < 1 ? x.toFixed(4) : x.toFixed(2);
}

(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln_ort_'));
  const rows = [];
  try {
    for (const m of opt.models) {
      process.stderr.write(`ort_compare: ${m}\n`);
      rows.push(await compareModel(m, tmp));
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const head = ['model', 'inputs', `kiln ${opt.config} ms`, `ORT ${ORT_VERSION} ms`,
                'kiln / ORT time', 'max abs diff'];
  const cells = rows.map((r) => [path.basename(r.model), r.inputs, fmtMs(r.kiln), fmtMs(r.ort),
    `${(r.kiln / r.ort).toFixed(2)}x`, r.maxAbs.toExponential(1)]);
  if (opt.format === 'md') {
    console.log(`| ${head.join(' | ')} |`);
    console.log(`|---|---|${head.slice(2).map(() => '---:').join('|')}|`);
    for (const c of cells) console.log(`| ${c.join(' | ')} |`);
  } else {
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c) => c.map((s, i) => (i < 2 ? s.padEnd(w[i]) : s.padStart(w[i]))).join('  ');
    console.log(line(head));
    for (const c of cells) console.log(line(c));
  }
  console.log(`\nmedian of ${opt.rounds} interleaved rounds of ${opt.repeat} runs each ` +
    `(${opt.warmup} warm-up); one thread each (ORT intraOpNumThreads = interOpNumThreads = 1, ` +
    'graph optimizations all). ORT is timed around session.run() in Node: the binding adds ' +
    'tens of microseconds per call, which dominates models that run in microseconds. ' +
    'kiln / ORT time > 1: kiln is slower.');
})().catch((e) => { process.stderr.write(`ort_compare: ${e.stack || e}\n`); process.exit(1); });
