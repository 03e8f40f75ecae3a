#!/usr/bin/env bash
# Precision on a large real tree: scans TREE (default the build machine's
# own /usr: compilers, Python, Node, documentation, data files) as a rootfs
# and prints how many malware entries are HIGH or CRITICAL. A machine that
# builds imgscan carries no miner, so the figure must be 0; each such entry
# is printed (rule, severity, path) so a false alarm can be looked at.
# Exit status 1 when the count is not 0.
#
#   bash benches/precision.sh [TREE=/usr]
#   IMGSCAN_BIN=target/debug/imgscan bash benches/precision.sh /usr/share
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-/usr}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
[ -d "$tree" ] || { echo "no tree at $tree" >&2; exit 2; }
if [ -z "${IMGSCAN_BIN:-}" ]; then
  cargo build --release -q -p imgscan
  IMGSCAN_BIN="$CARGO_TARGET_DIR/release/imgscan"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export IMGSCAN_DB="$work/none.sqlite" IMGSCAN_CACHE_DIR="$work/cache"
start=$(date +%s.%N)
status=0
"$IMGSCAN_BIN" scan -q -f json -o "$work/report.json" "dir:$tree" 2> "$work/stderr" || status=$?
end=$(date +%s.%N)
if [ "$status" -gt 1 ]; then
  cat "$work/stderr" >&2
  exit 2
fi
python3 - "$work/report.json" "$(echo "$end - $start" | bc -l)" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
malware = report.get("malware", [])
severe = [m for m in malware if m["severity"] in ("HIGH", "CRITICAL")]
totals = report["summary"]["totals"]
print(f"tree        {report['target']['input']}: {totals['files']} files, {totals['file_bytes'] / 2**30:.2f} GiB, {float(sys.argv[2]):.1f} s")
print(f"malware     {len(malware)} entries ({len(malware) - len(severe)} below HIGH)")
for m in severe:
    print(f"  {m['severity']:<8} {m['rule']:<34} {m['path']}")
print(f"HIGH+       {len(severe)}")
sys.exit(1 if severe else 0)
PY
