// Runs an original TF.js model on a raw float32 input tensor and writes each
// output as raw float32 plus a shape line. Used only to regenerate golden
// files (make goldens); see internal/vision/visiontest.
//
//   node golden.mjs graph  MODEL_DIR/model.json IN.f32 1,256,256,3 OUTDIR node1,node2
//   node golden.mjs layers MODEL.min.js WEIGHTS.min.js IN.f32 1,224,224,3 OUTDIR
//   node golden.mjs faceapi MANIFEST.json WEIGHTS.bin IN.f32 1,150,150,3 OUTDIR
//   node golden.mjs onnx   MODEL.onnx IN.f32 1,3,112,112 OUTDIR
// (onnx: the model as its npm package runs it, with onnxruntime-web's wasm
// backend, an independent build from the native runtime Obscura uses.)
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [kind, ...args] = process.argv.slice(2);
await tf.setBackend('cpu');

function readInput(file, shapeArg) {
  const b = fs.readFileSync(file);
  const data = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  return tf.tensor(data, shapeArg.split(',').map(Number));
}

function write(outDir, name, t) {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, name + '.f32'), Buffer.from(t.dataSync().buffer));
  fs.writeFileSync(path.join(outDir, name + '.shape'), t.shape.join(',') + '\n');
}

function fileHandler(json, weightData) {
  return { load: async () => ({ modelTopology: json.modelTopology, format: json.format, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.length) }) };
}

if (kind === 'graph') {
  const [model, input, shape, outDir, nodes] = args;
  const json = JSON.parse(fs.readFileSync(model));
  const shards = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths).map((p) => fs.readFileSync(path.join(path.dirname(model), p))));
  const m = await tf.loadGraphModel(fileHandler(json, shards));
  const names = nodes.split(',');
  let outs = m.execute(readInput(input, shape), names);
  if (!Array.isArray(outs)) outs = [outs];
  names.forEach((n, i) => write(outDir, n.replaceAll('/', '_'), outs[i]));
} else if (kind === 'layers') {
  const [model, weights, input, shape, outDir] = args;
  const json = require(path.resolve(model));
  const data = Buffer.from(require(path.resolve(weights)), 'base64');
  const m = await tf.loadLayersModel(fileHandler(json, data));
  write(outDir, 'output', m.predict(readInput(input, shape)));
} else if (kind === 'faceapi') {
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  const [manifest, weights, input, shape, outDir] = args;
  const specs = JSON.parse(fs.readFileSync(manifest)).flatMap((g) => g.weights);
  const data = fs.readFileSync(weights);
  const map = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.length), specs);
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(map);
  write(outDir, 'output', net.forwardInput(await faceapi.toNetInput(readInput(input, shape))));
} else if (kind === 'onnx') {
  const ort = require('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const [model, input, shape, outDir] = args;
  const b = fs.readFileSync(input);
  const data = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  const s = await ort.InferenceSession.create(fs.readFileSync(model), { executionProviders: ['wasm'] });
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, shape.split(',').map(Number)) });
  const t = out[s.outputNames[0]];
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'output.f32'), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  fs.writeFileSync(path.join(outDir, 'output.shape'), t.dims.join(',') + '\n');
} else {
  console.error('usage: node golden.mjs graph|layers|faceapi|onnx …');
  process.exit(2);
}
