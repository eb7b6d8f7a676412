#!/usr/bin/env bash
# HTTP load benchmark: wrk POSTs /v1/messages to `concierge serve` on the demo shop, over
# loopback only, for a bounded time, and prints throughput and latency percentiles.
#   bench/load.sh [SECONDS=10] [CONNECTIONS=8] [THREADS=2]   (THREADS: wrk's)
# 8 connections keep both cores busy (answers run one per core); more only queue, and add
# latency and context switches.
# Targets on a 2-core machine: >= 2,000 req/s with p99 < 50 ms. Output also goes to
# bench/out/load.txt. Installs wrk (Debian) when missing. Uses the release binary.
# The engine is the binary's default (hybrid when built with the model);
# `CONCIERGE_LEXICAL_ONLY=1 bench/load.sh` measures the lexical engine. The table says which.
# `BENCH_BIN=path/to/concierge bench/load.sh` measures another build (say, the one before a
# change) instead of building this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
duration="${1:-10}"
connections="${2:-8}"
threads="${3:-2}"
if ! command -v wrk >/dev/null; then
    sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
if [[ -n ${BENCH_BIN:-} ]]; then
    CONCIERGE_BIN="$BENCH_BIN"
else
    cargo build --release --locked --quiet
fi
mkdir -p bench/out
# Other work on the machine takes cores from the server and wrk: say how busy it was.
load="$(cut -d' ' -f1 /proc/loadavg)"
out="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$out"' EXIT

# The demo shop's config without the per-client rate limit: every request comes from 127.0.0.1.
# `BENCH_THREADS=2` sets `semantic.threads` (libtorch intra-op threads) for the run,
# `BENCH_BUSY_THREADS=2` `semantic.busy_threads` (the count while other processes take the
# cores), `BENCH_MODEL=models/multilingual-e5-small` another model, for all four languages,
# `BENCH_PRECISION=int8` `semantic.precision`.
model="${BENCH_MODEL:-}"
[[ -z $model || $model == /* ]] || model="$PWD/$model"
{
    awk -v t="${BENCH_THREADS:-}" -v b="${BENCH_BUSY_THREADS:-}" -v m="$model" -v p="${BENCH_PRECISION:-}" '
        m != "" && /^  languages:/ && in_semantic { print "  languages: [en, es, pt, nl]"; next }
        { print }
        /^[a-z]/ { in_semantic = 0 }
        /^semantic:/ {
            in_semantic = 1
            if (t != "") print "  threads: " t
            if (b != "") print "  busy_threads: " b
            if (m != "") print "  model: " m
            if (p != "") print "  precision: " p
        }' concierge.yaml
    printf '\nhttp:\n  rate_limit: {per_minute: 0}\n  reload_interval_ms: 0\n'
} >"$out/concierge.yaml"
# A new database each run (in the temporary folder), so runs start alike and leave nothing.
mkdir -p "$out/data" # a folder named with --data must exist
CONCIERGE_LOG=warn,concierge::cli=info "$CONCIERGE_BIN" serve --listen 127.0.0.1:0 --data "$out/data" \
    --kb knowledge-base --intents intents --config "$out/concierge.yaml" 2>"$out/server.log" &
server=$!
addr=""
for _ in $(seq 1 2400); do # up to 2 minutes: a first start embeds the shop
    addr="$(grep -o 'listening on http://[0-9.:]*' "$out/server.log" | head -1 | sed 's|listening on http://||')" || true
    [[ -n $addr ]] && curl -fs "http://$addr/readyz" >/dev/null 2>&1 && break
    sleep 0.05
done
[[ -n $addr ]] || { cat "$out/server.log"; echo "the server did not start" >&2; exit 1; }
case "$addr" in 127.*) ;; *) echo "refusing to load a non-loopback address: $addr" >&2; exit 1 ;; esac

# Which engine answers: the server's own config and environment, asked the same way.
engine="$("$CONCIERGE_BIN" ask --explain --kb knowledge-base --intents intents --config "$out/concierge.yaml" hello 2>&1 >/dev/null \
    | grep -o 'engine: [a-z]*' | head -1 | sed 's/engine: //')"

# CPU time the server used (user + system, clock ticks): divided by the requests it says how
# much of a core one request costs, which does not depend on what else the machine is doing.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before="$(cpu_ticks)"
wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s bench/messages.lua "http://$addr" | tee "$out/wrk.txt"

after="$(cpu_ticks)"
requests="$(awk '/requests in/ {print $1}' "$out/wrk.txt")"
cpu_us="$(awk -v a="$after" -v b="$before" -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", (a - b) / hz * 1e6 / n}')"
rps="$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")"
p50="$(awk '$1=="50%" {print $2}' "$out/wrk.txt")"
p99="$(awk '$1=="99%" {print $2}' "$out/wrk.txt")"
errors="$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$out/wrk.txt" | grep -o '[0-9]*$' || echo 0)"
{
    echo
    echo "| endpoint | engine | duration | connections | req/s | p50 | p99 | non-2xx | server CPU per request | load average before |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    echo "| POST /v1/messages | ${engine:-?}${BENCH_MODEL:+ $(basename "$BENCH_MODEL")}${BENCH_THREADS:+ (semantic.threads $BENCH_THREADS)}${BENCH_BUSY_THREADS:+ (busy_threads $BENCH_BUSY_THREADS)}${BENCH_PRECISION:+ ($BENCH_PRECISION)} | ${duration} s | $connections | $rps | $p50 | $p99 | $errors | ${cpu_us} µs | $load |"
} | tee bench/out/load.txt
