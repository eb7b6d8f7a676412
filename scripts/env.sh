# Shared settings of the project's scripts (sourced, not run).
# Build output is cached outside the checkout so that fresh clones (CI) reuse it.
export CONCIERGE_CACHE="${CONCIERGE_CACHE:-$HOME/.cache/concierge}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CONCIERGE_CACHE/target}"
export CONCIERGE_BIN="${CONCIERGE_BIN:-$CARGO_TARGET_DIR/release/concierge}"
mkdir -p "$CONCIERGE_CACHE"
