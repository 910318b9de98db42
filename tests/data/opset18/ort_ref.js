#!/usr/bin/env node
// ort_ref.js - runs one ONNX model in ONNX Runtime (onnxruntime-node) for generate.py: reads
// {"ort": DIR, "model": PATH, "inputs": [{"name", "type", "dims", "b64"}]} as JSON on stdin
// and writes {"outputs": [{"name", "type", "dims", "b64"}]} (graph order) to stdout. Only
// generate.py runs it, by hand; the tests read the references it leaves behind.
'use strict';
const path = require('path');

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  int16: Int16Array, int8: Int8Array, uint64: BigUint64Array, uint32: Uint32Array,
  uint16: Uint16Array, uint8: Uint8Array, bool: Uint8Array, float16: Uint16Array,
};

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const ort = require(path.resolve(req.ort));
  const sess = await ort.InferenceSession.create(req.model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled',
  });
  const feeds = {};
  for (const i of req.inputs) {
    const raw = Buffer.from(i.b64, 'base64');
    const copy = new Uint8Array(raw.length);
    copy.set(raw);
    const A = ARRAYS[i.type];
    feeds[i.name] = new ort.Tensor(i.type, new A(copy.buffer, 0, raw.length / A.BYTES_PER_ELEMENT),
                                   i.dims);
  }
  const res = await sess.run(feeds);
  const outputs = sess.outputNames.map((name) => {
    const t = res[name];
    const d = t.data;
    const bytes = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    return { name, type: t.type, dims: t.dims, b64: bytes.toString('base64') };
  });
  process.stdout.write(JSON.stringify({ outputs }));
}

main().catch((e) => { process.stderr.write(`ort_ref: ${e.stack || e}\n`); process.exit(1); });
