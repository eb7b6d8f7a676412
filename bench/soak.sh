#!/usr/bin/env bash
# Soak benchmark of escalation delivery: 1,000 conversations escalate through the real
# `concierge serve` (SQLite outbox) while a local helpdesk fails 30 % of the requests at random
# (500 or a dropped connection). Checks that none is lost and none is accepted twice, and
# prints how long until all were delivered. The same test runs in the suite
# (tests/it/escalation.rs); this prints its measurement.
#   bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
mkdir -p bench/out
load="$(cut -d' ' -f1 /proc/loadavg)"
cargo test --release --locked --quiet --test it escalation::soak -- --nocapture 2>&1 \
    | grep -E '^soak:|test result' | tee bench/out/soak.txt
echo "load average before: $load" | tee -a bench/out/soak.txt
