#!/usr/bin/env bash
# Disk image read throughput: imgscan reading a Debian system from an ext4
# volume (raw, qcow2, deflate-compressed qcow2, VMDK sparse and
# streamOptimized, VHD, VHDX) and from an XFS volume (when this machine can
# loop-mount one to fill it) against imgscan reading the same tree as a
# directory, in the same run; plus `zcat`-like baseline `qemu-img convert`
# of the compressed image to raw (decompression alone).
# Each line is a full `scan` (cataloging, checks, built-in rules). Prints
# ratios of wall times against the directory.
#
#   bash benches/disk_read.sh [TREE=/var/tmp/imgscan-debian/bookworm] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-/var/tmp/imgscan-debian/bookworm}
runs=${2:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/imgscan-target}
work=${BENCH_DIR:-/var/tmp/imgscan-bench}/disk
for tool in mke2fs qemu-img; do
  command -v "$tool" >/dev/null || { echo "install $tool (e2fsprogs, qemu-utils)" >&2; exit 2; }
done
[ -d "$tree" ] || { echo "no tree at $tree (bash .ci/run builds the Debian one)" >&2; exit 2; }
mkdir -p "$work"
cargo build --release -q -p imgscan
bin="$CARGO_TARGET_DIR/release/imgscan"
if [ ! -f "$work/.complete" ]; then
  echo "building the images from $tree" >&2
  mke2fs -q -F -t ext4 -d "$tree" "$work/root.img" 1G
  qemu-img convert -O qcow2 "$work/root.img" "$work/root.qcow2"
  qemu-img convert -c -O qcow2 "$work/root.img" "$work/root-deflate.qcow2"
  touch "$work/.complete"
fi
if [ ! -f "$work/.formats" ]; then
  qemu-img convert -O vmdk "$work/root.img" "$work/root.vmdk"
  qemu-img convert -O vmdk -o subformat=streamOptimized "$work/root.img" "$work/root-stream.vmdk"
  qemu-img convert -O vpc -o force_size=on "$work/root.img" "$work/root.vhd"
  qemu-img convert -O vhdx "$work/root.img" "$work/root.vhdx"
  if command -v mkfs.xfs >/dev/null; then
    truncate -s 1G "$work/root.xfs"
    mkfs.xfs -q -f "$work/root.xfs"
    mkdir -p "$work/mnt"
    if mount -o loop "$work/root.xfs" "$work/mnt" 2>/dev/null; then
      cp -a "$tree/." "$work/mnt/" && umount "$work/mnt"
    else
      rm -f "$work/root.xfs"
    fi
  fi
  touch "$work/.formats"
fi
cat "$work"/root* > /dev/null
find "$tree" -type f -print0 2>/dev/null | xargs -0 cat > /dev/null 2>&1 || true

source benches/lib.sh
scan() { "$bin" scan -q -f json "$1"; }
t_dir=$(best scan "dir:$tree")
printf 'directory          %.2f s  %s\n' "$t_dir" "$tree"
for image in root.img root.qcow2 root-deflate.qcow2 root.vmdk root-stream.vmdk root.vhd root.vhdx root.xfs; do
  [ -f "$work/$image" ] || continue
  t=$(best scan "$work/$image")
  printf '%-18s %.2f s  ratio %.2f (against the directory)\n' "$image" "$t" "$(echo "$t / $t_dir" | bc -l)"
done
t_convert=$(best qemu-img convert -O raw "$work/root-deflate.qcow2" "$work/converted.raw")
rm -f "$work/converted.raw"
printf 'qemu-img convert   %.2f s  (root-deflate.qcow2 to raw: decompression alone)\n' "$t_convert"
