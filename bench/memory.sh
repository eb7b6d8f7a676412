#!/usr/bin/env bash
# Peak memory (maximum resident set size, /usr/bin/time -v) of `concierge ask` on the demo shop,
# hybrid (the model loaded, the shop's vectors from a warm cache) and lexical (--lexical-only),
# one question, from start to exit. Prints a Markdown table. Uses the release binary.
#   bench/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
[[ -x /usr/bin/time ]] || { echo "bench/memory.sh needs /usr/bin/time (Debian package time)" >&2; exit 2; }
[[ -x $CONCIERGE_BIN ]] || { echo "no binary at $CONCIERGE_BIN: cargo build --release" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
question="my parcel never showed up"

measure() { # engine, then the flag
    local engine="$1"; shift
    local args=(ask --json --kb knowledge-base --intents intents --config concierge.yaml "$@" "$question")
    # The first run fills the vector cache; the second is measured.
    env -u CONCIERGE_CONFIG -u CONCIERGE_LEXICAL_ONLY "$CONCIERGE_BIN" "${args[@]}" >/dev/null
    env -u CONCIERGE_CONFIG -u CONCIERGE_LEXICAL_ONLY /usr/bin/time -v "$CONCIERGE_BIN" "${args[@]}" \
        >"$out/$engine.json" 2>"$out/$engine.time"
    local rss wall
    rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/$engine.time")"
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/$engine.time")"
    grep -q '"outcome"' "$out/$engine.json" || { cat "$out/$engine.time" >&2; echo "no answer ($engine)" >&2; exit 1; }
    printf '| %s | %s MB | %s |\n' "$engine" "$(awk -v k="$rss" 'BEGIN {printf "%.0f", k / 1024}')" "$wall"
}

echo "| engine (\`concierge ask\`, demo shop, one question) | peak RSS | wall time |"
echo "|---|---:|---:|"
measure hybrid
measure lexical --lexical-only
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
