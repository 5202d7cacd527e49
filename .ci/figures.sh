#!/usr/bin/env bash
# Prints the figures the README and docs/deploy-container.md quote (`make figures`),
# as a Markdown table to paste there: the size of each release binary as the
# container image gets them (`make static`), their gzip-compressed total (what the
# image's SMS+ layers weigh to pull, distroless/static aside), and the idle memory
# (RSS) of `smsplus serve` with every shipped bridge enabled, host and plugins.
# Never part of `make test`. Loopback only; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${FIGURES_PORT:-18490}
SETTLE=${FIGURES_SETTLE:-3} # seconds after /readyz before memory is read

tmp=$(mktemp -d)
srv=
cleanup() {
  if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

make --no-print-directory static BIN="$tmp/bin" >/dev/null

mb() { awk -v b="$1" 'BEGIN{printf "%.1f MB", b/1e6}'; }
size() { stat -c %s "$1"; }
gz() { gzip -6 -c "$1" | wc -c; }

bridges=()
for p in "$tmp"/bin/plugins/smsplus-bridge-*; do bridges+=("${p##*/smsplus-bridge-}"); done

total=$(size "$tmp/bin/smsplus"); total_gz=$(gz "$tmp/bin/smsplus")
echo "Measured by \`make figures\` ($(go env GOVERSION), $(go env GOOS)/$(go env GOARCH), $(nproc) cores)."
echo
echo "| what | figure |"
echo "| --- | --- |"
echo "| \`smsplus\` (the host) | $(mb "$(size "$tmp/bin/smsplus")") |"
for id in "${bridges[@]}"; do
  f=$tmp/bin/plugins/smsplus-bridge-$id
  total=$((total + $(size "$f"))); total_gz=$((total_gz + $(gz "$f")))
  echo "| \`smsplus-bridge-$id\` | $(mb "$(size "$f")") |"
done
echo "| all binaries | $(mb "$total"), $(mb "$total_gz") gzip-compressed |"

# Idle: every shipped bridge enabled, embedded store, console sender, built-in engine.
env=(PORT="$PORT" BASE_URL="http://127.0.0.1:$PORT" HASH_SALT=figures-salt-0123456789 DATA_DIR="$tmp/data"
  PLUGIN_DIR="$tmp/bin/plugins" LOG_LEVEL=warn SHUTDOWN_DRAIN_MS=0
  ENABLED_BRIDGES="$(IFS=,; echo "${bridges[*]}")")
for id in "${bridges[@]}"; do
  env+=("$(echo "$id" | tr a-z A-Z)_SHARED_SECRET=figures-$id-secret-0123456789abcdef")
done
(cd "$tmp" && exec env -i PATH="$PATH" "${env[@]}" "$tmp/bin/smsplus" serve >"$tmp/stdout" 2>"$tmp/stderr") &
srv=$!
ready=
for _ in $(seq 300); do
  if curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "smsplus serve did not become ready:" >&2; cat "$tmp/stderr" >&2; exit 1
fi
sleep "$SETTLE"
rss() { awk '/^VmRSS/{print $2 * 1024}' "/proc/$1/status"; }
host_rss=$(rss "$srv")
plugins_rss=0; n=0; min=; max=
for pid in $(pgrep -P "$srv"); do
  r=$(rss "$pid"); plugins_rss=$((plugins_rss + r)); n=$((n + 1))
  if [ -z "$min" ] || [ "$r" -lt "$min" ]; then min=$r; fi
  if [ -z "$max" ] || [ "$r" -gt "$max" ]; then max=$r; fi
done
if [ "$n" -ne "${#bridges[@]}" ]; then
  echo "found $n plugin processes, want ${#bridges[@]}" >&2; exit 1
fi
echo "| idle RSS, host | $(mb "$host_rss") |"
echo "| idle RSS, each plugin | $(mb "$min") to $(mb "$max") |"
echo "| idle RSS, host and ${n} plugins | $(mb $((host_rss + plugins_rss))) |"
