#!/usr/bin/env bash
# Fuzzes every target of fuzz/ (or the TARGETs named) for SECONDS each
# (default 60), one after the other, and prints per target the inputs it
# ran (libFuzzer's stat::number_of_executed_units) and whether it found a
# crash, a timeout or an out-of-memory; exits 1 when one did. Needs the
# nightly toolchain and cargo-fuzz (`cargo +nightly install cargo-fuzz`).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Seeds come from fuzz/seed.sh (run when fuzz/corpus/ is missing); what a
# run finds is kept in fuzz/corpus/TARGET, a failing input in
# fuzz/artifacts/TARGET/, and each run's log in fuzz/logs/TARGET.log.
# Every build and run holds /var/tmp/imgscan-build.lock, the machine's
# shared build lock, and lets go between targets.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(basename -s .rs fuzz/fuzz_targets/*.rs)
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-fuzz-target}
lock=/var/tmp/imgscan-build.lock
bin=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release

[ -d fuzz/corpus ] || fuzz/seed.sh || exit 2
# No sanitizer: the code is safe Rust (`unsafe_code` is forbidden), so
# ASan adds cost and little else; debug assertions and overflow checks
# stay on (cargo-fuzz's default).
# One target named builds that one; otherwise all are built.
only=()
[ ${#targets[@]} -eq 1 ] && only=("${targets[0]}")
nice flock "$lock" cargo +nightly fuzz build -s none --target-dir "$CARGO_TARGET_DIR" "${only[@]}" || exit 2

# The largest input a target is given: disks hold their metadata in the
# first megabytes, the rest are documents and streams.
max_len() {
  case $1 in
    qcow2 | vmdk | vhd | vhdx | ova | partitions | lvm | ext | xfs | disk_image) echo $((2 << 20)) ;;
    tar_stream | nested_archive | osv_import | rpm_bdb | rpm_ndb | npm_lock) echo $((256 << 10)) ;;
    *) echo $((64 << 10)) ;;
  esac
}

mkdir -p fuzz/logs
# Where the targets that read a path write their input (tmpfs when there is one).
scratch=$(mktemp -d -p "$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")" imgscan-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export IMGSCAN_FUZZ_SCRATCH=$scratch
failed=0
printf '%-20s %12s %8s  %s\n' target executions seconds result
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log=fuzz/logs/$target.log
  nice flock "$lock" "$bin/$target" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -timeout=30 -max_len="$(max_len "$target")" \
    -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1
  status=$?
  executions=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  # libFuzzer's own clock: the time spent waiting for the lock is not counted.
  ran=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | awk '{print $5}' | tail -1)
  found=$(grep -Eo '^==[0-9]+== ERROR: libFuzzer: [a-z-]+|SUMMARY: libFuzzer: [a-z-]+' "$log" | head -1)
  if [ $status -eq 0 ]; then
    result=ok
  else
    result="FOUND ${found:-exit $status}: $(ls -t "fuzz/artifacts/$target" | head -1)"
    failed=1
  fi
  printf '%-20s %12s %8s  %s\n' "$target" "${executions:-?}" "${ran:-?}" "$result"
done
exit $failed
