# Shared settings of the project's scripts (sourced, not run).
# Build output is cached outside the checkout so that fresh clones (CI) reuse it.
export CONCIERGE_CACHE="${CONCIERGE_CACHE:-$HOME/.cache/concierge}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CONCIERGE_CACHE/target}"
export CONCIERGE_BIN="${CONCIERGE_BIN:-$CARGO_TARGET_DIR/release/concierge}"
mkdir -p "$CONCIERGE_CACHE"
# The `semantic` build finds libtorch in the cache (scripts/setup-model unpacks it there) by an
# absolute path, the same for every clone: torch-sys rebuilds (minutes) whenever LIBTORCH
# changes, so the checkout-relative default of .cargo/config.toml would rebuild it in each fresh
# clone. That default stays for a plain `cargo build` in a checkout.
export LIBTORCH="${LIBTORCH:-$CONCIERGE_CACHE/libtorch-2.4.0/torch}"
export LIBTORCH_CXX11_ABI="${LIBTORCH_CXX11_ABI:-0}"
# The Dockerfile linter the tests use (scripts/setup --test installs it).
export CONCIERGE_HADOLINT="${CONCIERGE_HADOLINT:-$CONCIERGE_CACHE/tools/hadolint/bin/hadolint}"
