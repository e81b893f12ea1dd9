// Package faceid builds the ONNX graph of face-api's ResNet-34 face
// descriptor network (a port of dlib's face recognition network, 128
// dimensions, 99.38% on LFW as dlib reports it), from npm
// @vladmandic/face-api@1.7.15 (model/face_recognition_model*, pinned in the
// model manifest). The registry package ships weights only; Build assembles
// the graph from the network's definition at setup (faceid.onnx, pinned).
//
// Obscura does not run this model: it matches faces with package
// vision/faceres. The graph is kept as the measured alternative; its tests
// compare it with face-api on TF.js (goldens) and measure both models'
// verification accuracy (the basis of faceres.Threshold).
package faceid

// ModelFile is the manifest name of the built model.
const ModelFile = "faceid.onnx"

// InputSize is the network's input side.
const InputSize = 150
