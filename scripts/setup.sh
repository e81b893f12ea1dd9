#!/usr/bin/env bash
# Sets up what Obscura needs, idempotently. Usage: setup.sh run|test
#   run:  Debian packages the product needs, pinned downloads, data dir.
#   test: the above plus test tools (staticcheck, versitygw S3 server, PostgreSQL server binaries for the
#         store tests: internal/store/postgres/pgtest runs initdb/pg_ctl itself, the packaged cluster is not used).
# Downloads are cached under $OBSCURA_CACHE (default ~/.cache/obscura), never in the repo.
set -euo pipefail
mode=${1:-run}
cd "$(dirname "$0")/.."
CACHE=${OBSCURA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obscura}
TOOLS=$CACHE/bin
mkdir -p "$TOOLS"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "Go is not installed (need Go >= 1.26: https://go.dev/dl/)"
gov=$(go env GOVERSION); gov=${gov#go}
[ "$(printf '%s\n1.26\n' "${gov%.*}" | sort -V | head -1)" = "1.26" ] || die "Go $gov is too old; need >= 1.26"

# Debian packages per mode. Installed when root, else the one apt-get line is printed.
debs_run=(ca-certificates curl jq gcc g++ libc6-dev libturbojpeg0-dev libjpeg62-turbo-dev libtesseract-dev libleptonica-dev tesseract-ocr-eng)
debs_test=(ca-certificates curl jq chromium gcc g++ libc6-dev libturbojpeg0-dev libjpeg62-turbo-dev libtesseract-dev libleptonica-dev tesseract-ocr-eng git libimage-exiftool-perl postgresql)
need_debs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
      die "apt-get install ${missing[*]} failed"
  else
    die "missing Debian packages; run: sudo apt-get install -y ${missing[*]}"
  fi
}

# go_tool NAME MODULE@VERSION: install a pinned Go tool into $TOOLS once.
go_tool() {
  local name=$1 pkg=$2 stamp="$TOOLS/.$1.version"
  if [ -x "$TOOLS/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then return 0; fi
  say "building $pkg (once; cached in $TOOLS)"
  GOBIN="$TOOLS" GOFLAGS=-mod=mod go install "$pkg" || die "go install $pkg failed"
  echo "$pkg" > "$stamp"
}

# fetch_models downloads, verifies and installs the pinned runtime and models
# (internal/models/manifest.json) into $OBSCURA_MODELS (default $CACHE/models).
fetch_models() {
  go build -o bin/obscura ./cmd/obscura || die "build failed"
  OBSCURA_CACHE=$CACHE ./bin/obscura models fetch >/dev/null || die "model supply chain check failed (see above)"
}

# build_plugins builds the plugins shipped in plugins/ from source into
# $OBSCURA_PLUGINS (default $CACHE/plugins) as WebAssembly reactors, once
# per source and toolchain: <name>.wasm, <name>.sha256 (the hash the
# installation's own publisher key signs at `obscura serve` start) and
# <name>.toolchain (the Go version that built it). Idempotent.
build_plugins() {
  local out=${OBSCURA_PLUGINS:-$CACHE/plugins} gov p name src stamp
  mkdir -p "$out"
  gov=$(go env GOVERSION)
  for p in plugins/*/; do
    name=$(basename "$p")
    src=$( (echo "$gov"; find "$p" sdk/plugin -name '*.go' -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)
    stamp="$out/.$name.src"
    if [ -f "$out/$name.wasm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$src" ]; then continue; fi
    say "building plugin $name ($gov, GOOS=wasip1 GOARCH=wasm)"
    GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -trimpath -buildmode=c-shared -o "$out/$name.wasm.tmp" "./$p" || die "plugin $name failed to build"
    mv "$out/$name.wasm.tmp" "$out/$name.wasm"
    sha256sum "$out/$name.wasm" | cut -d' ' -f1 > "$out/$name.sha256"
    echo "$gov" > "$out/$name.toolchain"
    echo "$src" > "$stamp"
  done
}

# fetch_c2pa_reader installs the C2PA reference implementation (c2pa-rs, as
# the native module of npm @contentauth/c2pa-node, pinned and hash-checked)
# into $CACHE/c2pa-node-<version>: tests check Obscura's manifests with it.
C2PA_NODE_VERSION=0.9.8
C2PA_NODE_SHA256=f8a0a68b78e3d13f60ffcc2f5bde5aed878a7e587eb1ecb56628022ed31518ab
fetch_c2pa_reader() {
  local dir="$CACHE/c2pa-node-$C2PA_NODE_VERSION" tgz
  [ -f "$dir/dist/index.node" ] && [ "$(cat "$dir/.sha256" 2>/dev/null)" = "$C2PA_NODE_SHA256" ] && return 0
  command -v npm >/dev/null || die "npm is needed for the C2PA reference reader (Debian: apt-get install nodejs npm)"
  say "fetching @contentauth/c2pa-node@$C2PA_NODE_VERSION (C2PA reference reader, once; cached in $dir)"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@contentauth/c2pa-node@$C2PA_NODE_VERSION" >/dev/null) || die "npm pack @contentauth/c2pa-node failed"
  tgz=$(ls "$tmp"/*.tgz)
  echo "$C2PA_NODE_SHA256  $tgz" | sha256sum -c --quiet - || die "c2pa-node tarball hash mismatch"
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xzf "$tgz" -C "$dir" --strip-components=1 || die "extract c2pa-node failed"
  echo "$C2PA_NODE_SHA256" > "$dir/.sha256"
  rm -rf "$tmp"
}

case $mode in
  run)
    need_debs "${debs_run[@]}"
    go mod download
    fetch_models
    build_plugins
    data=${OBSCURA_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/obscura}
    mkdir -p "$data" && chmod 700 "$data"
    say "data dir: $data (the server and the CLI share it; master key created there on first start unless OBSCURA_MASTER_KEY is set)"
    ;;
  test)
    need_debs "${debs_test[@]}"
    go mod download
    fetch_models
    build_plugins
    go_tool staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2
    go_tool versitygw github.com/versity/versitygw/cmd/versitygw@v1.8.0
    # Real GPS-tagged test photos ship in this module's assets/ (not a build dependency).
    go mod download github.com/dsoprea/go-exif/v3@v3.0.1
    need_debs nodejs
    fetch_c2pa_reader
    ;;
  *) die "usage: setup.sh run|test" ;;
esac
