// Package mediabench measures Obscura's picture paths, each beside a baseline
// measured in the same run: the vision models against the bare ONNX
// Runtime session, the analysis pipeline and its sandbox workers, upload
// ingest against a stdlib decode+encode, and analysis through the HTTP API
// against the same analysis in process.
package mediabench
