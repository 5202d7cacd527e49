#!/usr/bin/env bash
# Prints SMS+ performance figures; never part of `make test`.
#  1. each bridge plugin's round trip per hook over go-plugin gRPC (Parse with the
#     answer rendered ahead, as shipped; Parse then Respond): p50/p99, host and plugin
#     CPU, with mTLS (as shipped), without, and with 2 plugin threads; and its start time;
#  2. CPU per challenge page view;
#  3. hook latency at 100 hooks/s with the TypingDNA and Twilio fakes;
#  4. per store (embedded, Redis, FerretDB as .ci/services.sh builds it): hooks/s at 8
#     and 32 clients, p99, CPU per hook of host, plugin and store process, store calls
#     per hook, and the overload split at twice the capacity measured (BenchmarkHookLoad).
# BENCH_STORES picks stores (default "embedded redis mongo"); SMSPLUS_BENCH_DURATION
# each load phase (default 10s). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
STORES=${BENCH_STORES:-embedded redis mongo}

echo "== plugin round trip per hook (Parse with the answer ahead; mtls-respond: Parse + Respond; real binaries, gRPC)"
go test -run '^$' -bench RoundTrip -benchtime 5000x ./host/internal/pluginhost | grep -E 'Benchmark|ok'
echo "== plugin start (launch, mTLS handshake, Info, Configure), every bridge"
go test -run '^$' -bench Start -benchtime 20x ./host/internal/pluginhost | grep -E 'Benchmark|ok'

echo "== challenge page view (cpu-ms/op is CPU, not wall time)"
go test -run '^$' -bench 'PageGet|StaticGet' -benchtime 2000x ./host/internal/httpapi | grep -E 'Benchmark|ok'

echo "== hook latency at 100/s with the TypingDNA and Twilio fakes (production clients), at once and after 500 ms"
go test -run '^$' -bench HookWithFakes -benchtime 1x ./host | grep -E '^Benchmark'

load() { # store
  SMSPLUS_BENCH_STORE=$1 go test -run '^$' -bench HookLoad -benchtime 1x -timeout 30m ./host |
    grep -vE '^(goos|goarch|pkg|cpu|PASS|ok)'
}
services=()
for s in $STORES; do
  case $s in
    embedded) load embedded ;;
    redis|mongo) services+=("$s") ;;
    *) echo "bench: unknown store $s (embedded, redis, mongo)" >&2; exit 2 ;;
  esac
done
if [ ${#services[@]} -gt 0 ]; then
  # One set of servers for every networked store.
  .ci/services.sh bash -c "$(declare -f load); for s in ${services[*]}; do load \$s; done"
fi
