// Package photos registers the /v1 asset operations: single-use upload and
// download URLs, asset metadata and deletion, and the plain upload and
// download routes that carry no API key (the URL is the credential; they
// check the token, the kill switch and the limits before reading the body,
// and audit themselves).
package photos
