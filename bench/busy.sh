#!/usr/bin/env bash
# Busy-machine benchmark: `concierge serve`'s throughput and p99 with stress-ng taking every
# core beside it, against the same on the machine without it. Issue 16's target: busy
# throughput at least 25 % of idle, busy p99 under 500 ms.
#   bench/busy.sh [SECONDS=20] [CONNECTIONS=8]
# Both runs are bench/load.sh (wrk, loopback only); its variables pass through:
# BENCH_THREADS, BENCH_BUSY_THREADS, BENCH_MODEL, BENCH_PRECISION, BENCH_BIN, CONCIERGE_LEXICAL_ONLY. stress-ng
# runs one CPU stressor per core (STRESS_CPUS to change); installed from Debian when missing.
# The table also goes to bench/out/busy.txt. Measure on a machine with nothing else running:
# the idle run is the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
connections="${2:-8}"
cpus="${STRESS_CPUS:-$(nproc)}"
if ! command -v stress-ng >/dev/null; then
    sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq stress-ng >/dev/null
fi
if [[ -z ${BENCH_BIN:-} ]]; then
    . scripts/env.sh
    cargo build --release --locked --quiet
    export BENCH_BIN="$CONCIERGE_BIN"
fi

# One row of load.sh's table: | endpoint | engine | duration | connections | req/s | p50 | p99 | ...
field() { awk -F'|' -v i="$2" '{gsub(/^ +| +$/, "", $i); print $i}' <<<"$1"; }
# wrk's latencies (950.00us, 83.25ms, 1.19s) in milliseconds.
ms() { awk '{v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/ && $1 !~ /ms$/) v *= 1000; printf "%.1f", v}' <<<"$1"; }

echo "== idle: bench/load.sh $duration $connections" >&2
bench/load.sh "$duration" "$connections" >/dev/null
idle="$(tail -1 bench/out/load.txt)"

echo "== busy: stress-ng --cpu $cpus beside bench/load.sh $duration $connections" >&2
stress-ng --cpu "$cpus" --timeout "$((duration + 300))s" --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null || true; wait "$stress" 2>/dev/null || true' EXIT
sleep 3 # the stressors are running before the server starts
bench/load.sh "$duration" "$connections" >/dev/null
busy="$(tail -1 bench/out/load.txt)"
kill "$stress" 2>/dev/null || true

engine="$(field "$idle" 3)"
idle_rps="$(field "$idle" 6)"
busy_rps="$(field "$busy" 6)"
idle_p99="$(ms "$(field "$idle" 8)")"
busy_p99="$(ms "$(field "$busy" 8)")"
share="$(awk -v b="$busy_rps" -v i="$idle_rps" 'BEGIN {printf "%.0f", 100 * b / i}')"
verdict="$(awk -v s="$share" -v p="$busy_p99" 'BEGIN {print (s >= 25 && p < 500) ? "met" : "NOT met"}')"
mkdir -p bench/out
{
    echo
    echo "| engine | connections | idle req/s | idle p99 | busy req/s (stress-ng --cpu $cpus) | busy p99 | busy / idle | target (>= 25 %, p99 < 500 ms) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    echo "| $engine | $connections | $idle_rps | $idle_p99 ms | $busy_rps | $busy_p99 ms | $share % | $verdict |"
} | tee bench/out/busy.txt
