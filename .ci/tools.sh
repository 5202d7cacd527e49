#!/usr/bin/env bash
# Installs the code-generation tools at pinned versions: protoc from Debian's
# package, protoc-gen-go and protoc-gen-go-grpc into .cache/bin. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.1
bin="$PWD/.cache/bin"
mkdir -p "$bin"

if ! command -v protoc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing protoc (Debian protobuf-compiler)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
  else
    echo "protoc is missing: install Debian's protobuf-compiler (or your OS's protoc 3.21)" >&2
    exit 1
  fi
fi
want() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }
if ! want protoc-gen-go "$PROTOC_GEN_GO"; then
  GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
  echo "$PROTOC_GEN_GO" > "$bin/protoc-gen-go.version"
fi
if ! want protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC"; then
  GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
  echo "$PROTOC_GEN_GO_GRPC" > "$bin/protoc-gen-go-grpc.version"
fi
