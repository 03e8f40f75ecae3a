#!/usr/bin/env bash
# The fleet on Redis: N generated images sharing a multi-layer base (each
# with one small app layer of its own), scanned
#   - one after another by `imgscan scan`, without any cache (the baseline);
#   - through `imgscan fleet` by 2 workers sharing a Redis layer cache
#     (the base is read once, by whichever worker gets there first).
# Both use the same advisory database (an empty one) and built-in rules.
# Needs Debian's redis-server; starts its own on a free loopback port.
#
#   bash benches/fleet.sh [N=8] [MIB=200] [LAYERS=4] [RUNS=1]
#   BENCH_PROFILE=debug ...   # time the test build instead of building release
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-8}
mib=${2:-200}
layers=${3:-4}
runs=${4:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
work=${BENCH_DIR:-/var/tmp/imgscan-bench}
mkdir -p "$work"
command -v redis-server > /dev/null || { echo "needs redis-server (apt-get install redis-server)" >&2; exit 1; }
source benches/lib.sh
build_binaries

images="$work/fleet-$count-$mib-$layers"
if [ ! -f "$images/app-$((count - 1)).oci/index.json" ]; then
  echo "generating $count images sharing a ~$mib MiB base in $layers layers" >&2
  "$fixtures" --bench-fleet "$images" "$count" "$mib" "$layers" > /dev/null
fi
cat "$images"/*/blobs/sha256/* > /dev/null   # page cache warm
db="$work/no-advisories.sqlite"
[ -f "$db" ] || { mkdir -p "$work/no-records"; "$bin" db import --db "$db" "$work/no-records" > /dev/null; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis_dir=$(mktemp -d)
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$redis_dir" > /dev/null &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$redis_dir"' EXIT
until redis-cli -p "$port" ping > /dev/null 2>&1; do sleep 0.1; done
queue="redis://127.0.0.1:$port/0"
cache="redis://127.0.0.1:$port/1"

sequential() {
  for image in "$images"/app-*.oci; do
    "$bin" scan -q -f json --db "$db" --no-cache "$image" > /dev/null || { s=$?; [ "$s" -eq 1 ] || return "$s"; }
  done
}

fleet() {
  redis-cli -p "$port" flushall > /dev/null
  "$bin" fleet submit --redis "$queue" "$images"/app-*.oci > /dev/null 2>&1
  unset IMGSCAN_NO_CACHE
  "$bin" fleet work --redis "$queue" --cache "$cache" --exit-when-empty --db "$db" 2> /dev/null &
  local one=$!
  "$bin" fleet work --redis "$queue" --cache "$cache" --exit-when-empty --db "$db" 2> /dev/null
  wait "$one"
  export IMGSCAN_NO_CACHE=1
}

t_seq=$(best sequential)
t_fleet=$(best fleet)
counts=$("$bin" fleet report --redis "$queue" -f json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len([t for t in d["targets"] if t["status"]=="done"]), "done,", d["cache"]["hits"], "hits,", d["cache"]["misses"], "misses")')
printf 'images      %s x (~%s MiB base in %s layers + 1 app layer), %s cores, %s build\n' "$count" "$mib" "$layers" "$(nproc)" "$profile"
printf 'sequential  %.2f s  (imgscan scan, one after another, no cache)\n' "$t_seq"
printf 'fleet       %.2f s  (2 workers, shared Redis cache: %s)\n' "$t_fleet" "$counts"
printf 'ratio       %.3f  (fleet / sequential, best of %s)\n' "$(echo "$t_fleet / $t_seq" | bc -l)" "$runs"
