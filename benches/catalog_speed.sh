#!/usr/bin/env bash
# What cataloging adds to reading an image: a generated Debian-like rootfs
# with N dpkg packages (status, an info/*.list of 40 files each, and those
# files on disk) read with `imgscan inspect` (no catalogers) and with
# `imgscan sbom` (dpkg cataloger, owned files resolved through the tree),
# in the same run. Prints both times, the difference and the ratio.
#
#   bash benches/catalog_speed.sh [PACKAGES=1000] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
packages=${1:-1000}
runs=${2:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
root=${BENCH_DIR:-/var/tmp/imgscan-bench}/dpkg-$packages
cargo build --release -q -p imgscan
bin="$CARGO_TARGET_DIR/release/imgscan"
if [ ! -f "$root/var/lib/dpkg/status" ]; then
  python3 - "$root" "$packages" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/var/lib/dpkg/info", exist_ok=True)
os.makedirs(f"{root}/usr/bin", exist_ok=True)
os.makedirs(f"{root}/etc", exist_ok=True)
os.symlink("usr/bin", f"{root}/bin")
open(f"{root}/etc/os-release", "w").write("ID=debian\nVERSION_ID=12\n")
with open(f"{root}/var/lib/dpkg/status", "w") as status:
    for i in range(count):
        name = f"pkg{i:04d}"
        status.write(f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n"
                     f"Source: src{i // 3:04d}\nVersion: 1.{i}-{i % 7}+deb12u1\nDescription: generated\n\n")
        paths = [f"/bin/{name}"] + [f"/usr/share/{name}/f{j}" for j in range(39)]
        os.makedirs(f"{root}/usr/share/{name}", exist_ok=True)
        for p in paths:
            real = p.replace("/bin/", "/usr/bin/", 1) if p.startswith("/bin/") else p
            open(root + real, "w").write(name)
        open(f"{root}/var/lib/dpkg/info/{name}.list", "w").write("/.\n" + "\n".join(paths) + "\n")
PY
fi
source benches/lib.sh
found=$("$bin" sbom -q -f json "$root" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["packages"]))')
t_read=$(best "$bin" inspect -q -f json "$root")
t_sbom=$(best "$bin" sbom -q -f json "$root")
printf 'rootfs     %s (%s packages found)\n' "$root" "$found"
printf 'inspect    %.3f s  (read and merge only)\n' "$t_read"
printf 'sbom       %.3f s  (read, merge and catalog)\n' "$t_sbom"
printf 'catalog    +%.3f s, ratio %.2f (best of %s)\n' "$(echo "$t_sbom - $t_read" | bc -l)" "$(echo "$t_sbom / $t_read" | bc -l)" "$runs"
