// Package featurebench measures Obscura's feature paths, each beside a
// baseline measured in the same run: meme drafts and the caption filter,
// provenance (C2PA and watermark), WebAssembly plugins, secure aggregation
// for federated learning and the differentially private analytics.
package featurebench
