// Package convert holds the build-time model converters that `obscura
// models fetch` runs to derive pinned ONNX files from pinned TF.js sources
// (docs/spec/model-manifest-v1.md): tfjs (graph and layers models),
// faceid (face-api's ResNet-34 from its weights manifest) and onnxgraph
// (the deterministic ONNX writer they share). None of it runs when the
// server analyses a photo; the runtime lives in internal/vision.
package convert
