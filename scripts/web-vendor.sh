#!/usr/bin/env bash
# The web console's one script, htmx, is embedded (go:embed) from
# internal/web/static/htmx.min.js. This fetches the pinned npm release,
# checks the tarball against its pinned integrity, and checks the embedded
# copy is its dist/htmx.min.js byte for byte (--update: copy it there).
# Not part of `make test`: TestHtmxPinned checks the embedded file's hash.
set -euo pipefail
version=4.0.1
integrity='sha512-oF7JgXhDW9UXCy/k1ZYFUQgzu/rm19ORWPSPNL91vPluB2PB9+MV55tyQdH/w7o2EAbTYUG5SDW1R60mdkdqGg=='
repo=$(cd "$(dirname "$0")/.." && pwd)
embedded=$repo/internal/web/static/htmx.min.js
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack "htmx.org@$version" --silent >/dev/null
got="sha512-$(openssl dgst -sha512 -binary "htmx.org-$version.tgz" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
  echo "web-vendor: htmx.org-$version.tgz integrity $got, want $integrity" >&2
  exit 1
fi
tar xzf "htmx.org-$version.tgz" package/dist/htmx.min.js
if [ "${1:-}" = --update ]; then
  cp package/dist/htmx.min.js "$embedded"
  echo "web-vendor: embedded htmx $version; update HtmxSHA256 to $(sha256sum "$embedded" | cut -d' ' -f1)"
elif cmp -s package/dist/htmx.min.js "$embedded"; then
  echo "web-vendor: embedded htmx is htmx.org $version from npm"
else
  echo "web-vendor: $embedded differs from htmx.org $version's dist/htmx.min.js" >&2
  exit 1
fi
