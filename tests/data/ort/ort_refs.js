#!/usr/bin/env node
// ort_refs.js - writes the reference outputs of test models with ONNX Runtime (onnxruntime-node):
// for each MODEL.onnx given, runs it on MODEL.input.K.npy (K from 0, in graph-input order) and
// saves output K as MODEL.output.K.npy. Run by generate.py (by hand, never by the tests):
//   node ort_refs.js ORT_PACKAGE_DIR MODEL.onnx...
'use strict';
const fs = require('fs');
const path = require('path');

const TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array], '|b1': ['bool', Uint8Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
};
const DESCR = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v[0], k]));

function readNpy(file) {
  const b = fs.readFileSync(file);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const h = b.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(h)[1];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(h)[1].split(',').filter((s) => s.trim())
    .map((s) => parseInt(s, 10));
  const t = TYPES[descr];
  if (!t) throw new Error(`${file}: dtype ${descr} not handled`);
  const bytes = b.subarray(start + hlen);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return { type: t[0], dims, data: new t[1](copy.buffer, 0, bytes.length / t[1].BYTES_PER_ELEMENT) };
}

function writeNpy(file, type, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let h = `{'descr': '${DESCR[type]}', 'fortran_order': False, 'shape': ${shape}, }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(h.length, 8);
  const body = type === 'bool' ? Uint8Array.from(data, (x) => (x ? 1 : 0)) : data;
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'),
    Buffer.from(body.buffer, body.byteOffset, body.byteLength)]));
}

async function main() {
  const [pkg, ...models] = process.argv.slice(2);
  if (!pkg || !models.length) {
    process.stderr.write('usage: ort_refs.js ORT_PACKAGE_DIR MODEL.onnx...\n');
    process.exit(2);
  }
  const ort = require(path.resolve(pkg));
  for (const model of models) {
    const base = model.replace(/\.onnx$/, '');
    const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
    const feeds = {};
    s.inputNames.forEach((name, k) => {
      const a = readNpy(`${base}.input.${k}.npy`);
      const data = a.type === 'bool' ? Uint8Array.from(a.data, (x) => x !== 0) : a.data;
      feeds[name] = new ort.Tensor(a.type, data, a.dims);
    });
    const out = await s.run(feeds);
    s.outputNames.forEach((name, k) => {
      const t = out[name];
      writeNpy(`${base}.output.${k}.npy`, t.type, t.dims, t.data);
    });
    process.stdout.write(`${path.basename(model)}: ${s.outputNames.length} outputs\n`);
  }
}

main().catch((e) => { process.stderr.write(`ort_refs: ${e.message}\n`); process.exit(1); });
