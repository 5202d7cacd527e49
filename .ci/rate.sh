#!/usr/bin/env bash
# CPU per hook and latency at a fixed rate (the issue-16 "at 100 hooks/s" figures);
# never part of `make test`. Starts bin/smsplus with the Okta bridge only and the
# console sender, drives it with ../shared/bench/hookload (open loop) using its
# Okta body, and reads the host's and the plugin's CPU from /proc.
#   .ci/rate.sh [RATE=100] [embedded|redis REDIS_URL|mongo MONGO_URI]
# RATE cN drives N clients in a closed loop instead (c32: saturation). BIN=dir runs
# the binaries already built in dir (dir/smsplus, dir/plugins) instead of building
# bin/, so that two builds can be compared with one script.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-100} store=${2:-embedded} store_url=${3:-}
hookload=${HOOKLOAD_DIR:-../shared/bench/hookload}
[ -d "$hookload" ] || { echo "rate: hookload not found at $hookload (set HOOKLOAD_DIR)" >&2; exit 2; }
bin=${BIN:-bin}
[ -n "${BIN:-}" ] || make -s build >/dev/null
work=$(mktemp -d)
trap 'kill "${host:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((40000 + RANDOM % 1000))
# The shared body's otpExpires is a fixed date: move it an hour ahead.
sed -E "s/\"otpExpires\":\"[^\"]*\"/\"otpExpires\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S.000Z)\"/" \
  "$hookload/../okta_body.json" >"$work/body.json"
settings=(PORT=$port ENABLED_BRIDGES=okta BASE_URL=http://127.0.0.1:$port PLUGIN_DIR=$bin/plugins
  LOG_LEVEL=warn LOG_REQUESTS=false SMS_PROVIDER=console REFUSED_NUMBER_TYPES=none
  MAX_SMS_PER_PHONE_PER_HOUR=0 MAX_SMS_PER_RANGE_PER_HOUR=0 MAX_SMS_PER_HOUR=0)
case $store in
  embedded) settings+=(DATA_STORE=embedded DATA_DIR=$work/data) ;;
  redis) settings+=(DATA_STORE=redis REDIS_URL=$store_url REDIS_KEY_PREFIX=rate$RANDOM: REDIS_ALLOW_DATA_LOSS=true) ;;
  mongo) settings+=(DATA_STORE=mongo MONGO_URI=$store_url MONGO_DB_NAME=rate$RANDOM) ;;
  *) echo "rate: store must be embedded, redis or mongo" >&2; exit 2 ;;
esac
env -i PATH="$PATH" HOME="$HOME" "${settings[@]}" "$bin/smsplus" serve --env-file configs/dev.env >"$work/out" 2>"$work/err" &
host=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
plugin=$(pgrep -P $host | head -1)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
(cd "$hookload" && go build -o "$work/hookload" .)
load=(-rate "$rate")
[[ $rate == c* ]] && load=(-c "${rate#c}")
drive() { "$work/hookload" -url "http://127.0.0.1:$port/hooks/okta" "${load[@]}" -d "$1" \
  -H "Authorization: dev-only-okta-secret-0123456789" -H "Content-Type: application/json" -body "$work/body.json" -pid $host; }
drive 5s >/dev/null # warm-up
# A store server on this machine (Redis, FerretDB) is found by its port, so that
# its CPU per hook is reported too.
store_pid=
if [[ $store_url =~ ://(127\.0\.0\.1|localhost):([0-9]+) ]]; then
  store_pid=$(ss -ltnpH "sport = :${BASH_REMATCH[2]}" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
fi
h0=$(ticks $host) p0=$(ticks $plugin) s0=$([ -n "$store_pid" ] && ticks $store_pid || echo 0)
drive 20s | tee "$work/drive"
h1=$(ticks $host) p1=$(ticks $plugin) s1=$([ -n "$store_pid" ] && ticks $store_pid || echo 0)
n=$(awk '/^requests:/ {print $2}' "$work/drive")
awk -v h=$((h1 - h0)) -v p=$((p1 - p0)) -v s=$((s1 - s0)) -v st="$store_pid" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  printf "CPU per hook: host %.2f ms + plugin %.2f ms = %.2f ms", h*1000/hz/n, p*1000/hz/n, (h+p)*1000/hz/n
  if (st != "") printf "; store %.2f ms, all %.2f ms", s*1000/hz/n, (h+p+s)*1000/hz/n
  printf "\n" }'
curl -s "http://127.0.0.1:$port/metrics" | grep '^smsplus_hooks_total'
