#!/usr/bin/env bash
# Regenerates the bridge contract's gRPC code into a scratch copy and fails if it
# differs from what is committed: the committed code must be exactly what the
# .proto says. The protoc version is part of the generated header, so a different
# protoc shows up here too.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/tools.sh
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r sdk/. "$scratch/"
rm -rf "$scratch/internal/bridgepb"
PATH="$PWD/.cache/bin:$PATH" "$scratch/gen.sh"
if ! diff -ru sdk/internal/bridgepb "$scratch/internal/bridgepb"; then
  echo "proto-check: sdk/internal/bridgepb is out of date with sdk/proto; run 'make proto' and commit" >&2
  exit 1
fi
echo "proto-check: generated code matches sdk/proto"
