#!/usr/bin/env bash
# Registry pull throughput: imgscan reading an image straight from a real
# registry (Debian's docker-registry on 127.0.0.1) — download, digest
# checks, gzip decode and the layer pass, all layers at once — against
# `skopeo copy` of the same image to a directory (download and digest
# checks only, no decompression), and against imgscan reading the same
# image from a local OCI layout, in the same run. Prints the ratios of wall
# times; below 1 means imgscan's whole pass is faster than skopeo's download.
#
#   bash benches/registry_pull.sh [MIB=600] [LAYERS=4] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-600}
layers=${2:-4}
runs=${3:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
work=${BENCH_DIR:-/var/tmp/imgscan-bench}
for tool in docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "install Debian's $tool" >&2; exit 2; }
done
mkdir -p "$work"
cargo build --release -q -p imgscan -p imgscan-fixtures
bin="$CARGO_TARGET_DIR/release/imgscan"
source benches/lib.sh
image=$(bench_image "$mib" "$layers")

tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$tmp/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $tmp/storage
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$tmp/config.yml" >"$tmp/registry.log" 2>&1 &
registry=$!
trap 'kill $registry 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.1
done
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$tmp/policy.json"
ref="127.0.0.1:$port/bench:1"
skopeo --policy "$tmp/policy.json" copy -q --dest-tls-verify=false "oci:$image" "docker://$ref"

skopeo_download() {
  rm -rf "$tmp/pulled"
  skopeo --policy "$tmp/policy.json" copy -q --src-tls-verify=false "docker://$ref" "dir:$tmp/pulled"
}
t_skopeo=$(best skopeo_download)
t_pull=$(best "$bin" inspect -q -f json "$ref")
t_local=$(best "$bin" inspect -q -f json "$image")
printf 'image              %s (%s MiB uncompressed, %s gzip layers)\n' "$ref" "$mib" "$layers"
printf 'skopeo copy        %.2f s  (download to a directory, no decompression)\n' "$t_skopeo"
printf 'imgscan registry   %.2f s  (download, decompress, index every file)\n' "$t_pull"
printf 'imgscan layout     %.2f s  (the same pass from local files)\n' "$t_local"
printf 'ratio vs skopeo    %.2f  (imgscan registry / skopeo copy)\n' "$(echo "$t_pull / $t_skopeo" | bc -l)"
printf 'ratio vs local     %.2f  (imgscan registry / imgscan layout)\n' "$(echo "$t_pull / $t_local" | bc -l)"
