# Shared by the benchmark scripts: source it after setting `runs`, `work`
# and CARGO_TARGET_DIR.

# Read the layers every time: a warm layer-result cache would make the
# second run of any benchmark a cache benchmark (that one is
# benches/layer_cache.sh, which unsets this).
export IMGSCAN_NO_CACHE=1

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

# bench_image MIB LAYERS: the path of a generated multi-layer gzip OCI
# build_binaries: builds imgscan and the fixture packer in the profile
# BENCH_PROFILE names (default release; `debug` times the test build) and
# sets `profile`, `bin` and `fixtures`.
build_binaries() {
  profile=${BENCH_PROFILE:-release}
  if [ "$profile" = release ]; then
    cargo build --release -q -p imgscan -p imgscan-fixtures
  else
    cargo build -q -p imgscan -p imgscan-fixtures
  fi
  bin="$CARGO_TARGET_DIR/$profile/imgscan"
  fixtures="$CARGO_TARGET_DIR/$profile/imgscan-fixtures"
}

# image of about MIB MiB uncompressed, made once under $work by the release
# build of imgscan-fixtures.
bench_image() {
  local image="$work/bench-$1-$2.oci"
  if [ ! -f "$image/index.json" ]; then
    echo "generating $image (~$1 MiB uncompressed, $2 layers)" >&2
    "$CARGO_TARGET_DIR/release/imgscan-fixtures" --bench-image "$image" "$1" "$2"
  fi
  echo "$image"
}
