#!/usr/bin/env bash
# The layer-result cache (goal P5): a full `imgscan scan` (built-in rules,
# catalogers, checks) of a generated multi-layer gzip image with an empty
# cache (the cold scan, which also fills the cache), then
#   - a re-scan of the same image: goal <= 0.10 x cold;
#   - a scan of a rebuild whose top layer alone changed, with the cache as
#     the first scan left it: goal <= 0.25 x cold.
# Each run starts from the same cache state; only the scan is timed.
#
#   bash benches/layer_cache.sh [MIB=400] [LAYERS=8] [RUNS=3]
#   BENCH_PROFILE=debug ...   # time the test build instead of building release
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-400}
layers=${2:-8}
runs=${3:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
work=${BENCH_DIR:-/var/tmp/imgscan-bench}
mkdir -p "$work"
source benches/lib.sh
build_binaries
unset IMGSCAN_NO_CACHE

image="$work/cache-$mib-$layers.oci"
rebuild="$work/cache-$mib-$layers-rebuild.oci"
[ -f "$image/index.json" ] || "$fixtures" --bench-image "$image" "$mib" "$layers"
[ -f "$rebuild/index.json" ] || "$fixtures" --bench-rebuild "$rebuild" "$mib" "$layers"
cat "$image"/blobs/sha256/* "$rebuild"/blobs/sha256/* > /dev/null   # page cache warm

cache="$work/layer-cache"
base_cache="$work/layer-cache-base"
scan() { "$bin" scan -q -f json --db "$work/no-advisories.sqlite" --cache-dir "$1" "$2"; }

# timed PREPARE TARGET: the best wall time of scanning TARGET over $runs
# runs, each after PREPARE set the cache up (not timed).
timed() {
  local best= start end t status
  for _ in $(seq "$runs"); do
    "$1"
    start=$(date +%s.%N)
    status=0
    scan "$cache" "$2" > "$work/last.json" 2>/dev/null || status=$?
    end=$(date +%s.%N)
    if [ "$status" -gt 1 ]; then echo "scan failed ($status)" >&2; exit 1; fi
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  echo "$best"
}
empty() { rm -rf "$cache"; }
counts() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["summary"]["cache"]; print(c["hits"], "hits,", c["misses"], "misses")' "$1"; }
as_base() { rm -rf "$cache"; cp -a "$base_cache" "$cache"; }

rm -rf "$base_cache"; scan "$base_cache" "$image" > /dev/null 2>&1 || true
t_cold=$(timed empty "$image")
t_warm=$(timed as_base "$image")
hits_warm=$(counts "$work/last.json")
t_rebuild=$(timed as_base "$rebuild")
hits_rebuild=$(counts "$work/last.json")
printf 'image       %s (%s layers, ~%s MiB uncompressed, %s cores, %s build)\n' "$image" "$layers" "$mib" "$(nproc)" "$profile"
printf 'cold        %.2f s  (empty cache, filled by the scan)\n' "$t_cold"
printf 'unchanged   %.2f s  (%s)\n' "$t_warm" "$hits_warm"
printf 'top layer   %.2f s  (%s)\n' "$t_rebuild" "$hits_rebuild"
printf 'ratio unchanged  %.3f  (goal <= 0.10, best of %s)\n' "$(echo "$t_warm / $t_cold" | bc -l)" "$runs"
printf 'ratio top layer  %.3f  (goal <= 0.25, best of %s)\n' "$(echo "$t_rebuild / $t_cold" | bc -l)" "$runs"
