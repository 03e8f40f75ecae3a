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
source benches/lib.sh
threads=$(nproc)
mib=$(echo "$bytes / 1048576" | bc -l)
printf 'tree       %s (%.0f MiB in regular files, %s threads each)\n' "$tree" "$mib" "$threads"
# One line per rule set: both tools, the same rules, the same tree.
compare() {
  local label=$1 file=$2 t_yara t_imgscan
  t_yara=$(best yara --no-follow-symlinks -r -p "$threads" "$file" "$tree")
  t_imgscan=$(best "$bin" scan -q -f json --rules "$file" --no-builtin-rules "dir:$tree")
  printf '%s\n' "$label"
  printf '  yara     %.2f s  (%.0f MiB/s)\n' "$t_yara" "$(echo "$mib / $t_yara" | bc -l)"
  printf '  imgscan  %.2f s  (%.0f MiB/s, includes walking, cataloging and checks)\n' "$t_imgscan" "$(echo "$mib / $t_imgscan" | bc -l)"
  printf '  ratio    %.2f  (imgscan throughput / yara throughput, best of %s)\n' "$(echo "$t_yara / $t_imgscan" | bc -l)" "$runs"
}
compare "all built-in rules" "$rules/all.yar"
# yara warns that some strings (the Monero address regexes) "may slow down
# scanning"; the same comparison without those rules shows the engines on
# the rest.
slow=$(yara "$rules/all.yar" /dev/null 2>&1 | sed -n 's/^warning: rule "\([^"]*\)".*slow down scanning.*/\1/p' | sort -u)
if [ -n "$slow" ]; then
  awk -v slow="$(echo $slow)" '
    BEGIN { n = split(slow, names, " "); for (i = 1; i <= n; i++) drop[names[i]] = 1 }
    /^(private |global )*rule / { name = $0; sub(/^(private |global )*rule +/, "", name); sub(/[ :{].*/, "", name); skipping = (name in drop) }
    !skipping { print }
    skipping && /^}/ { skipping = 0 }
  ' "$rules/all.yar" > "$rules/fast.yar"
  compare "without the rules yara warns about ($(echo $slow))" "$rules/fast.yar"
fi
