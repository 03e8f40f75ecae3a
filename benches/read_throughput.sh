#!/usr/bin/env bash
# Layer read throughput: imgscan's single pass (gzip decode, two sha256
# digests, tar index, all layers in parallel) against `gzip -dc` of the same
# layer blobs one after another, measured in the same run; and a full
# `scan` (rules, catalogers, checks, package digests) against the same
# `gzip -dc` (goal P1: at most 1). Prints the ratios of wall times; below 1
# means imgscan does its work faster than gzip alone can decompress.
#
#   bash benches/read_throughput.sh [MIB=600] [LAYERS=4] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-600}
layers=${2:-4}
runs=${3:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
work=${BENCH_DIR:-/var/tmp/imgscan-bench}
mkdir -p "$work"

cargo build --release -q -p imgscan -p imgscan-fixtures
bin="$CARGO_TARGET_DIR/release/imgscan"
source benches/lib.sh
image=$(bench_image "$mib" "$layers")
blobs=$(python3 - "$image" <<'PY'
import json, sys
root = sys.argv[1]
index = json.load(open(f"{root}/index.json"))
manifest = json.load(open(f"{root}/blobs/sha256/" + index["manifests"][0]["digest"][7:]))
print(" ".join(f"{root}/blobs/sha256/" + l["digest"][7:] for l in manifest["layers"]))
PY
)
# Warm the page cache so both sides read from memory.
cat $blobs > /dev/null


gzip_dc() { for b in $blobs; do gzip -dc "$b"; done; }
bytes=$("$bin" inspect -q -f json "$image" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["totals"]["layer_bytes"])')
t_gzip=$(best gzip_dc)
t_scan=$(best "$bin" inspect -q -f json "$image")
t_full=$(best "$bin" scan -q -f json "$image")
printf 'image      %s (%s layers, %.0f MiB uncompressed, %s cores)\n' "$image" "$layers" "$(echo "$bytes / 1048576" | bc -l)" "$(nproc)"
printf 'gzip -dc   %.2f s  (%.0f MiB/s)\n' "$t_gzip" "$(echo "$bytes / 1048576 / $t_gzip" | bc -l)"
printf 'imgscan    %.2f s  (%.0f MiB/s)\n' "$t_scan" "$(echo "$bytes / 1048576 / $t_scan" | bc -l)"
printf 'ratio      %.2f  (imgscan / gzip -dc, best of %s)\n' "$(echo "$t_scan / $t_gzip" | bc -l)" "$runs"
printf 'full scan  %.2f s  (ratio %.2f: scan / gzip -dc)\n' "$t_full" "$(echo "$t_full / $t_gzip" | bc -l)"
