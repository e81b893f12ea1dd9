// Package protocol is the byte format between the server and its
// sandboxed workers (docs/spec/worker-v1.md): length-prefixed, versioned
// frames, the JSON meta of each op, and the configuration a worker is
// started with. It parses and encodes; it trusts nothing it reads: frame
// bounds are checked before a body is read, and metas are decoded
// strictly (the server's checks of what a reply says live in package
// sandbox, the worker's handling in package sandbox/worker).
package protocol
