#!/usr/bin/env bash
# Throughput and p99 of POST /v1/messages by store: SQLite (1 replica) vs PostgreSQL (1 and
# 2 replicas on one database), wrk over loopback only, for a bounded time each.
#   bench/store.sh [SECONDS=10] [CONNECTIONS=8]
# PostgreSQL is a throw-away cluster (initdb into a temporary folder, run as `nobody` when we
# are root, a free port on 127.0.0.1, stopped at the end); scripts/setup-postgres installs
# it. Every request starts a new conversation (bench/messages.lua), so each is one committed
# turn; 1 in 12 asks for a person and commits a ticket (no webhook: it stays in the outbox).
# `CONCIERGE_LEXICAL_ONLY=1` measures the lexical engine (the store's share of a request is
# larger there). Prints one table (also bench/out/store.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
duration="${1:-10}"
connections="${2:-8}"
command -v wrk >/dev/null || { echo "wrk is missing: bench/load.sh installs it" >&2; exit 1; }
scripts/setup-postgres
[[ -n ${BENCH_BIN:-} ]] && CONCIERGE_BIN="$BENCH_BIN" || cargo build --release --locked --quiet
pgbin="$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")")"
mkdir -p bench/out
out="$(mktemp -d)"
chmod 755 "$out"
pids=()
as_pg=()
[[ $(id -u) == 0 ]] && as_pg=(runuser -u nobody --)
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    [[ -d $out/pg ]] && (cd "$out" && "${as_pg[@]}" "$pgbin/pg_ctl" -D "$out/pg" -m immediate -w stop >/dev/null 2>&1 || true)
    rm -rf "$out"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$out/pg" && [[ ${#as_pg[@]} -gt 0 ]] && chown nobody "$out/pg"
(cd "$out" && "${as_pg[@]}" "$pgbin/initdb" -D "$out/pg" -U concierge --auth=trust -E UTF8 >/dev/null)
# Durable commits (fsync on, synchronous_commit on), as in production; SQLite syncs tickets too.
(cd "$out" && "${as_pg[@]}" "$pgbin/pg_ctl" -D "$out/pg" -l "$out/pg/server.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $out/pg" start >/dev/null)
createdb() { "$pgbin/psql" -q -h 127.0.0.1 -p "$port" -U concierge -d postgres -c "CREATE DATABASE $1" >/dev/null; }

{
    cat concierge.yaml
    printf '\nhttp:\n  rate_limit: {per_minute: 0}\n  reload_interval_ms: 0\n'
} >"$out/sqlite.yaml"

# Starts one replica with config $1; its address goes to $addr (not a subshell: $pids grows).
start() {
    local log="$out/server-${#pids[@]}.log"
    addr=""
    mkdir -p "$out/data-${#pids[@]}"
    CONCIERGE_LOG=warn,concierge::cli=info "$CONCIERGE_BIN" serve --listen 127.0.0.1:0 \
        --data "$out/data-${#pids[@]}" --kb knowledge-base --intents intents --config "$1" 2>"$log" &
    pids+=($!)
    for _ in $(seq 1 600); do
        addr="$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's|listening on http://||')" || true
        [[ -n $addr ]] && curl -fs "http://$addr/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    [[ -n $addr ]] || { cat "$log" >&2; echo "a replica did not start" >&2; exit 1; }
    case "$addr" in 127.*) ;; *) echo "refusing a non-loopback address: $addr" >&2; exit 1 ;; esac
}
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    pids=()
}

rows=()
# run NAME REPLICAS CONFIG
run() {
    local name="$1" n="$2" conf="$3" addrs=()
    for _ in $(seq 1 "$n"); do start "$conf"; addrs+=("$addr"); done
    # wrk threads = replicas x 2, spread over the replicas (bench/replicas.lua).
    REPLICAS="${addrs[*]}" wrk -t$((2 * n)) -c"$connections" -d"${duration}s" --latency \
        -s bench/replicas.lua "http://${addrs[0]}" >"$out/wrk.txt"
    local rps p50 p99 errors
    rps="$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")"
    p50="$(awk '$1=="50%" {print $2}' "$out/wrk.txt")"
    p99="$(awk '$1=="99%" {print $2}' "$out/wrk.txt")"
    errors="$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$out/wrk.txt" | grep -o '[0-9]*$' || echo 0)"
    rows+=("| $name | $n | $rps | $p50 | $p99 | $errors |")
    stop_all
}

load="$(cut -d' ' -f1 /proc/loadavg)"
run sqlite 1 "$out/sqlite.yaml"
for n in 1 2; do
    createdb "bench_$n"
    { cat "$out/sqlite.yaml"; printf 'storage:\n  url: postgres://concierge@127.0.0.1:%s/bench_%s\n' "$port" "$n"; } >"$out/pg-$n.yaml"
    run postgresql "$n" "$out/pg-$n.yaml"
done
engine="hybrid"
case "${CONCIERGE_LEXICAL_ONLY:-}" in 1|true|yes|on) engine="lexical" ;; esac
{
    echo
    echo "POST /v1/messages, $engine engine, ${duration} s each, $connections connections, $(nproc) cores, load average before $load"
    echo
    echo "| store | replicas | req/s | p50 | p99 | non-2xx |"
    echo "|---|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
} | tee bench/out/store.txt
