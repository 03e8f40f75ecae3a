#!/usr/bin/env bash
# Rule-scanning throughput: imgscan's engine (YARA-X, files handed from the
# read pass to one scanner per core) against Debian's `yara` on the same
# rules and the same file tree, in the same run. Prints both throughputs
# and the ratio (above 1: imgscan is faster).
#
#   bash benches/rules_throughput.sh [TREE=/var/tmp/imgscan-debian/bookworm] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-/var/tmp/imgscan-debian/bookworm}
runs=${2:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
command -v yara >/dev/null || { echo "install Debian's yara: apt-get install -y yara" >&2; exit 2; }
[ -d "$tree" ] || { echo "no tree at $tree (bash .ci/run builds the Debian one)" >&2; exit 2; }
cargo build --release -q -p imgscan
bin="$CARGO_TARGET_DIR/release/imgscan"
rules=$(mktemp -d)
trap 'rm -rf "$rules"' EXIT
cat signatures/rules/*.yar > "$rules/all.yar"
# Warm the page cache so both read from memory.
find "$tree" -type f -print0 2>/dev/null | xargs -0 cat > /dev/null 2>&1 || true
bytes=$(find "$tree" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s}')
best() {
  local best=
  for _ in $(seq "$runs"); do
    local start end t
    start=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  echo "$best"
}
threads=$(nproc)
t_yara=$(best yara --no-follow-symlinks -r -p "$threads" "$rules/all.yar" "$tree")
t_imgscan=$(best "$bin" scan -q -f json --rules "$rules/all.yar" --no-builtin-rules "dir:$tree")
mib=$(echo "$bytes / 1048576" | bc -l)
printf 'tree       %s (%.0f MiB in regular files, %s threads each)\n' "$tree" "$mib" "$threads"
printf 'yara       %.2f s  (%.0f MiB/s)\n' "$t_yara" "$(echo "$mib / $t_yara" | bc -l)"
printf 'imgscan    %.2f s  (%.0f MiB/s, includes walking, cataloging and checks)\n' "$t_imgscan" "$(echo "$mib / $t_imgscan" | bc -l)"
printf 'ratio      %.2f  (imgscan throughput / yara throughput, best of %s)\n' "$(echo "$t_yara / $t_imgscan" | bc -l)" "$runs"
