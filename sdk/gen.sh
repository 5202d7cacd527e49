#!/usr/bin/env bash
# Regenerates the gRPC code of the bridge contract into internal/bridgepb.
# Needs protoc and the two Go plugins at the versions pinned below (install them
# with ../.ci/tools.sh). The generated files are committed; CI checks that running
# this script changes nothing.
set -euo pipefail
cd "$(dirname "$0")"
protoc --proto_path=proto \
  --go_out=. --go_opt=module=github.com/smsplus/smsplus/sdk \
  --go-grpc_out=. --go-grpc_opt=module=github.com/smsplus/smsplus/sdk \
  smsplus/bridge/v1/bridge.proto
