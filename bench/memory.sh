#!/usr/bin/env bash
# Peak memory (maximum resident set size, /usr/bin/time -v) of `concierge ask` on the demo shop,
# hybrid (the model loaded, the shop's vectors from a warm cache) and lexical (--lexical-only),
# one question, from start to exit. Prints a Markdown table. Uses the release binary.
#   bench/memory.sh [--config FILE] [--cold] [--runs N]
#     --config FILE  the config to run with (default concierge.yaml), e.g. one whose
#                    `semantic.model` is models/multilingual-e5-small (docs/semantic-models.md)
#     --cold         also measure the hybrid engine with an empty vector cache (a temporary
#                    $CONCIERGE_CACHE): the first-time embedding of the whole shop
#     --runs N       measure each row N times (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
config=concierge.yaml cold=0 runs=1
while (($#)); do
    case "$1" in
        --config) config="$2"; shift 2 ;;
        --cold) cold=1; shift ;;
        --runs) runs="$2"; shift 2 ;;
        *) echo "usage: bench/memory.sh [--config FILE] [--cold] [--runs N]" >&2; exit 2 ;;
    esac
done
[[ -x /usr/bin/time ]] || { echo "bench/memory.sh needs /usr/bin/time (Debian package time)" >&2; exit 2; }
[[ -x $CONCIERGE_BIN ]] || { echo "no binary at $CONCIERGE_BIN: cargo build --release" >&2; exit 2; }
[[ -f $config ]] || { echo "no config at $config" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
question="my parcel never showed up"

run() { # label, then the flags; the environment as given (CONCIERGE_CACHE for --cold)
    local label="$1"; shift
    local args=(ask --json --kb knowledge-base --intents intents --config "$config" "$@" "$question")
    env -u CONCIERGE_CONFIG -u CONCIERGE_LEXICAL_ONLY -u CONCIERGE_MODEL \
        /usr/bin/time -v "$CONCIERGE_BIN" "${args[@]}" >"$out/run.json" 2>"$out/run.time"
    local rss wall
    rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/run.time")"
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/run.time")"
    grep -q '"outcome"' "$out/run.json" || { cat "$out/run.time" >&2; echo "no answer ($label)" >&2; exit 1; }
    printf '| %s | %s MB | %s | %s |\n' "$label" "$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}')" "$wall" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
}

echo "| engine (\`concierge ask\`, demo shop, one question, $config) | peak RSS | wall time | load average |"
echo "|---|---:|---:|---|"
# The first run fills the vector cache; the next ones are measured.
env -u CONCIERGE_CONFIG -u CONCIERGE_LEXICAL_ONLY -u CONCIERGE_MODEL "$CONCIERGE_BIN" \
    ask --json --kb knowledge-base --intents intents --config "$config" "$question" >/dev/null
for _ in $(seq "$runs"); do run "hybrid, warm vector cache"; done
if ((cold)); then
    for _ in $(seq "$runs"); do
        rm -rf "$out/cache" && mkdir "$out/cache"
        CONCIERGE_CACHE="$out/cache" run "hybrid, cold vector cache (first-time embedding)"
    done
fi
for _ in $(seq "$runs"); do run lexical --lexical-only; done
