#!/usr/bin/env bash
# Package integrity's cost: a full `imgscan scan` (built-in rules,
# catalogers, checks) of the real Debian tree, as a rootfs directory and as
# a one-layer gzip OCI image, against the same scan with the check left out
# (`--skip-check package.modified-file`, which also stops the layer pass
# from hashing files), in the same run; and `gzip -dc` of the image's layer.
# Prints the ratios (goal: at most 1.10 with the check).
#
#   bash benches/integrity.sh [TREE=/var/tmp/imgscan-debian/bookworm] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-/var/tmp/imgscan-debian/bookworm}
runs=${2:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
work=${BENCH_DIR:-/var/tmp/imgscan-bench}
[ -d "$tree" ] || { echo "no tree at $tree (bash .ci/run builds the Debian one)" >&2; exit 2; }
mkdir -p "$work"
source benches/lib.sh
build_binaries
export IMGSCAN_DB="$work/no-advisories.sqlite"

# The tree as a one-layer gzip OCI layout, made once.
image="$work/integrity-debian.oci"
if [ ! -f "$image/index.json" ]; then
  tar --sort=name --numeric-owner -C "$tree" -cf "$work/integrity-layer.tar" .
  python3 - "$work/integrity-layer.tar" "$image" <<'PY'
import gzip, hashlib, json, os, sys
tar, root = sys.argv[1], sys.argv[2]
os.makedirs(f"{root}/blobs/sha256", exist_ok=True)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    open(f"{root}/blobs/sha256/{digest}", "wb").write(data)
    return digest, len(data)
raw = open(tar, "rb").read()
layer = put(gzip.compress(raw, 6))
config = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode())
manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + config[0], "size": config[1]},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + layer[0], "size": layer[1]}]}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:" + manifest[0], "size": manifest[1]}]}, open(f"{root}/index.json", "w"))
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
  rm -f "$work/integrity-layer.tar"
fi
blob=$(python3 -c 'import json,sys; r=sys.argv[1]; m=json.load(open(f"{r}/blobs/sha256/"+json.load(open(f"{r}/index.json"))["manifests"][0]["digest"][7:])); print(f"{r}/blobs/sha256/"+m["layers"][0]["digest"][7:])' "$image")
find "$tree" -type f -print0 2>/dev/null | xargs -0 cat > /dev/null 2>&1 || true
cat "$blob" > /dev/null

scan() { "$bin" scan -q -f json "$@"; }
t_gzip=$(best gzip -dc "$blob")
printf 'tree       %s (%s cores, best of %s)\n' "$tree" "$(nproc)" "$runs"
for target in "dir:$tree" "$image"; do
  t_without=$(best scan --skip-check package.modified-file "$target")
  t_with=$(best scan "$target")
  printf '%s\n' "$target"
  printf '  scan without the check  %.2f s\n' "$t_without"
  printf '  scan with the check     %.2f s\n' "$t_with"
  printf '  ratio                   %.2f  (with / without)\n' "$(echo "$t_with / $t_without" | bc -l)"
  if [ "$target" = "$image" ]; then
    printf '  gzip -dc                %.2f s  (scan with the check / gzip -dc: %.2f)\n' "$t_gzip" "$(echo "$t_with / $t_gzip" | bc -l)"
  fi
done
