#!/usr/bin/env bash
# Fits the calibrations a new shop gets by default (`Calibration::default()` lexical,
# `Calibration::hybrid()` with the default model), on every shop we fit on:
#   - the demo shop as a new shop writes it: its articles without their `questions:` lists
#     (bench/without-questions.py), its intents, tests/eval/tuning.jsonl;
#   - every development shop under tests/devshops/*/ (knowledge-base/, questions.jsonl).
# Never on tests/shops/* (held out) nor tests/eval/questions.jsonl (reported).
#
#   cargo build --release && bench/fit-defaults.sh [lexical|hybrid]...
#
# Prints each fit as `concierge calibrate` does; copy the numbers into src/config.rs, then
# re-measure the self-calibration reference (src/engine/selfcal.rs) and run
# `python3 bench/heldout.py --write docs/quality.md`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${CONCIERGE_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/concierge}
[[ -x $bin ]] || { echo "error: no binary at $bin (cargo build --release, or set CONCIERGE_BIN)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$repo/bench/without-questions.py" "$repo/knowledge-base" "$work/kb"
shops=()
for d in "$repo"/tests/devshops/*/; do
  [[ -f $d/questions.jsonl ]] && shops+=(--shop "${d%/}")
done
# No config file: the default settings, as a new shop has them.
cd "$work"
unset CONCIERGE_CONFIG CONCIERGE_LOG
export CONCIERGE_MODEL=${CONCIERGE_MODEL:-$repo/models/all-MiniLM-L6-v2}
modes=("$@")
(( ${#modes[@]} )) || modes=(lexical hybrid)
for m in "${modes[@]}"; do
  case $m in
    lexical) lexical=true ;;
    hybrid) lexical=false ;;
    *) echo "error: unknown mode $m (lexical or hybrid)" >&2; exit 2 ;;
  esac
  echo "## $m" >&2
  CONCIERGE_LEXICAL_ONLY=$lexical "$bin" calibrate "$repo/tests/eval/tuning.jsonl" \
    --kb "$work/kb" --intents "$repo/intents" "${shops[@]}"
done
