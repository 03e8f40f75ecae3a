# Shared by the benchmark scripts: source it after setting `runs`.

# best CMD...: the best wall time in seconds of CMD over $runs runs, its
# output discarded. Exit status 1 (imgscan's "the gate failed", yara's "no
# match") counts as done; any other failure stops the benchmark.
best() {
  local best= start end t status
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    status=0
    "$@" > /dev/null 2>&1 || status=$?
    end=$(date +%s.%N)
    if [ "$status" -gt 1 ]; then
      echo "benchmark command failed ($status): $*" >&2
      exit 1
    fi
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc -l) )); then best=$t; fi
  done
  echo "$best"
}
