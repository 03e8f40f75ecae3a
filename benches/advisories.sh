#!/usr/bin/env bash
# Advisory database at scale: the real AlmaLinux and malicious-npm OSV dumps
# (~27,000 records) grown to RECORDS (default 100,000) by copies with
# renamed ids, imported from one zip (timed), then 2,000 packages matched
# against the result (timed). Release build of the crate's example only.
#
#   bash benches/advisories.sh [RECORDS=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-100000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
data=${IMGSCAN_SHARED_DATA:-$(cd .. && pwd)/shared/data}
work=${BENCH_DIR:-/var/tmp/imgscan-bench}/advisories
mkdir -p "$work"
cargo build --release -q -p imgscan-advisories --example bench
"$CARGO_TARGET_DIR/release/examples/bench" "$data" "$records" "$work"
