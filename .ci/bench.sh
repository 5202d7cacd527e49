#!/usr/bin/env bash
# Prints SMS+ performance figures; never part of `make test`.
#  1. each bridge plugin's Parse+Respond round trip over go-plugin gRPC (p50/p99,
#     plugin RSS) and its start time;
#  2. hook latency for Okta payloads at 100 hooks/s for 20 s (embedded store, console
#     sender), with the host's and the plugin's CPU per hook and peak memory;
#  3. the same at 2000 hooks/s, far past capacity, to show that answers stay inside
#     Okta's 3 s deadline (overload is refused early in Okta's failure format).
# Uses ../shared/bench/hookload (the shared load driver). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
HOOKLOAD=${HOOKLOAD:-../shared/bench/hookload}
RATE=${RATE:-100}
DURATION=${DURATION:-20s}
PORT=${PORT:-18480}
SECRET=bench-okta-secret-0123456789

echo "== hook latency at 100/s with the TypingDNA and Twilio fakes (production clients), at once and after 500 ms"
go test -run '^$' -bench HookWithFakes -benchtime 1x ./host | grep -E '^Benchmark'

echo "== plugin round trip (Parse + Respond, real binaries, gRPC + mTLS)"
go test -run '^$' -bench RoundTrip -benchtime 20000x ./host/internal/pluginhost | grep -E 'Benchmark|ok'
echo "== plugin start (launch, mTLS handshake, Info, Configure), every bridge"
go test -run '^$' -bench Start -benchtime 20x ./host/internal/pluginhost | grep -E 'Benchmark|ok'

tmp=$(mktemp -d)
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null; rm -rf "$tmp"' EXIT
# hookload texts +1 555 numbers (area code 555 is not in service, so libphonenumber
# calls them invalid), thousands of them per range, far past the hourly caps. The
# benchmark measures throughput, not pumping defences: it refuses every default
# type but invalid, and turns the per-range and global caps off.
BENCH_REFUSED=premium_rate,shared_cost,uan,satellite,international_network,personal_number
(cd "$tmp" && PORT=$PORT HASH_SALT=bench-salt DATA_DIR="$tmp/data" ENABLED_BRIDGES=okta OKTA_SHARED_SECRET=$SECRET \
  REFUSED_NUMBER_TYPES=$BENCH_REFUSED MAX_SMS_PER_RANGE_PER_HOUR=0 MAX_SMS_PER_HOUR=0 \
  LOG_LEVEL=warn exec "$OLDPWD/bin/smsplus" serve >"$tmp/stdout" 2>"$tmp/stderr") &
srv=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
plugin=$(pgrep -P "$srv" -f smsplus-bridge-okta | head -1)
idle_rss=$(awk '/VmRSS/{print $2}' "/proc/$srv/status")
echo "== idle: host RSS ${idle_rss} kB, plugin RSS $(awk '/VmRSS/{print $2}' "/proc/$plugin/status") kB"

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
load() { # rate duration
  local h0 p0 h1 p1 n s0 s1
  h0=$(ticks "$srv"); p0=$(ticks "$plugin"); s0=$(grep -c '^sms body: ' "$tmp/stdout" || true)
  (cd "$HOOKLOAD" && go run . -url "http://127.0.0.1:$PORT/hooks/okta" -body "$OLDPWD/../shared/bench/okta_body.json" \
    -H "Authorization: Bearer $SECRET" -rate "$1" -d "$2" -pid "$srv") | tee "$tmp/load.txt"
  sleep 0.5 # let the console sender print the last messages
  h1=$(ticks "$srv"); p1=$(ticks "$plugin"); s1=$(grep -c '^sms body: ' "$tmp/stdout" || true)
  n=$(awk '/^count|requests/{for(i=1;i<=NF;i++) if ($i ~ /^[0-9]+$/) {print $i; exit}}' "$tmp/load.txt")
  hz=$(getconf CLK_TCK)
  if [ -n "$n" ] && [ "$n" -gt 0 ]; then
    awk -v h=$((h1-h0)) -v p=$((p1-p0)) -v n="$n" -v hz="$hz" \
      'BEGIN{printf "cpu per hook: host %.3f ms, plugin %.3f ms, total %.3f ms (%d hooks)\n", h*1000/hz/n, p*1000/hz/n, (h+p)*1000/hz/n, n}'
    # Every answer is HTTP 200 in Okta's format; the texts sent tell delivered hooks
    # from those refused early (overloaded) in Okta's failure format.
    echo "delivered: $((s1-s0)) of $n hooks texted a link; the rest were refused in time in Okta's failure format"
  fi
}
echo "== ${RATE} hooks/s for ${DURATION}"
load "$RATE" "$DURATION"
echo "== 2000 hooks/s for 10s (overload)"
load 2000 10s
