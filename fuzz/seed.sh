#!/usr/bin/env bash
# Builds the seed corpora, fuzz/corpus/TARGET/, from the repository's
# fixtures and test data and from tiny inputs made with the real tools
# (tar, zstd, mke2fs, mkfs.xfs, sfdisk, qemu-img, lvm2): nothing large is
# committed. Safe to rerun: seeds are rewritten, the inputs a fuzzer
# added beside them stay. A tool that is missing (or lvm2 without a loop
# device) only leaves its seeds out.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$fuzz")
out=$fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
have() { command -v "$1" >/dev/null 2>&1; }

# seed TARGET FILE [NAME]: copies FILE into TARGET's corpus.
seed() {
  mkdir -p "$out/$1"
  cp "$2" "$out/$1/${3:-$(basename "$2")}"
}
# text TARGET NAME: the seed NAME of TARGET from stdin.
text() {
  mkdir -p "$out/$1"
  cat >"$out/$1/$2"
}

# --- layer tar streams: the demo image's layers, plus every header kind.
for layer in "$repo"/fixtures/images/demo/layers/*; do
  tar -C "$layer" --sort=name --owner=0 --group=0 -cf "$work/demo.tar" .
  seed tar_stream "$work/demo.tar" "demo-$(basename "$layer").tar"
done
mkdir -p "$work/t/etc" "$work/t/usr/$(printf 'd%.0s' {1..120})"
echo 'ID=debian' >"$work/t/etc/os-release"
echo long >"$work/t/usr/$(printf 'd%.0s' {1..120})/$(printf 'f%.0s' {1..150})"
ln -s ../etc/os-release "$work/t/usr/link"
ln "$work/t/etc/os-release" "$work/t/usr/hard"
touch "$work/t/etc/.wh.gone" "$work/t/usr/.wh..wh..opq"
for format in gnu pax ustar v7; do
  tar -C "$work/t" --format=$format -cf "$work/$format.tar" . 2>/dev/null || continue
  seed tar_stream "$work/$format.tar"
done
gzip -9c "$work/pax.tar" >"$work/pax.tar.gz" && seed tar_stream "$work/pax.tar.gz"
have zstd && zstd -q -19 -c "$work/gnu.tar" >"$work/gnu.tar.zst" && seed tar_stream "$work/gnu.tar.zst"

# --- image metadata (see fuzz/src/blobs.rs: `@N` is document N's digest).
text oci_manifest index-manifest-config <<'EOF'
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:@1","size":3,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"latest","io.containerd.image.name":"docker.io/library/app:latest"}}]}
----
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:@2","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":32}]}
----
{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},"history":[{"created_by":"ADD rootfs.tar /"},{"created_by":"ENV A=1","empty_layer":true}]}
EOF
text oci_manifest nested-index <<'EOF'
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:@1","size":1}]}
----
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:@2","platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:@2","platform":{"architecture":"amd64","os":"linux"}}]}
----
{"schemaVersion":2,"config":{"digest":"sha256:@3"},"layers":[]}
----
{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}
EOF
text docker_manifest manifest-config <<'EOF'
[{"Config":"@1.json","RepoTags":["app:1","app:latest"],"Layers":["0a/layer.tar","0b/layer.tar"]}]
----
{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111","sha256:2222222222222222222222222222222222222222222222222222222222222222"]},"history":[{"created_by":"ADD a /"},{"created_by":"CMD x","empty_layer":true},{"created_by":"RUN b"}]}
EOF

# --- a registry's WWW-Authenticate challenges.
printf 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"' | text registry_challenge dockerhub
printf 'bearer realm=https://ghcr.io/token, service="gh\\"cr"' | text registry_challenge ghcr
printf 'Basic realm="registry"' | text registry_challenge basic

# --- package databases.
seed dpkg_status "$repo/fixtures/images/demo/layers/0/var/lib/dpkg/status" demo
seed dpkg_status "$repo/fixtures/images/demo/layers/1/var/lib/dpkg/status" demo-1
[ -f /var/lib/dpkg/status ] && head -c 65536 /var/lib/dpkg/status | text dpkg_status host
for f in "$repo"/sbom/src/catalog/python/testdata/*.METADATA "$repo"/sbom/src/catalog/python/testdata/*.PKG-INFO; do
  seed python_metadata "$f" "$(basename "$f")"
done
text apk_installed alpine <<'EOF'
C:Q1p0vlP9wcZ0Sg3vLKUUSrw5dG3AE=
P:busybox
V:1.36.1-r15
A:aarch64
S:512000
I:950272
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
t:1704812711
D:so:libc.musl-aarch64.so.1
p:cmd:busybox=1.36.1-r15
F:bin
R:busybox
a:0:0:755

P:alpine-baselayout-data
V:3.4.3-r2
A:aarch64
o:alpine-baselayout
F:etc
R:hosts
EOF
rpm_data=$repo/sbom/src/catalog/rpm/testdata
seed rpm_bdb "$rpm_data/Packages"
seed rpm_bdb "$rpm_data/Packages.be"
seed rpm_ndb "$rpm_data/Packages.db"
if have sqlite3; then
  for hnum in $(sqlite3 "$rpm_data/rpmdb.sqlite" 'SELECT hnum FROM Packages LIMIT 4'); do
    sqlite3 "$rpm_data/rpmdb.sqlite" "SELECT writefile('$work/header-$hnum', blob) FROM Packages WHERE hnum = $hnum" >/dev/null
    seed rpm_header "$work/header-$hnum"
  done
fi
n=0
while IFS= read -r -d '' lock; do
  n=$((n + 1))
  seed npm_lock "$lock" "$n-$(basename "$lock")"
done < <(find "$repo/sbom/src/catalog/npm/testdata" -type f \
  \( -name 'package-lock.json' -o -name '.package-lock.json' -o -name 'yarn.lock' \
  -o -name 'pnpm-lock.yaml' -o -name 'package.json' \) -print0 | sort -z)
seed os_release "$repo/fixtures/images/demo/layers/0/etc/os-release" debian
[ -f /etc/os-release ] && seed os_release /etc/os-release host
printf 'Rocky Linux release 9.3 (Blue Onyx)\n' | text os_release redhat
printf '12.5\n' | text os_release debian_version

# --- advisories: each fixture record, and a zip of them all.
for record in "$repo"/fixtures/advisories/*.json; do seed osv_import "$record"; done
(cd "$repo/fixtures/advisories" && python3 -c '
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sys.argv[2:]:
        z.write(name)
' "$work/all.zip" *.json)
seed osv_import "$work/all.zip"

# --- files looked inside: gzip, xz, zstd, zip (a jar), tar, nested.
printf 'stratum+tcp://pool.supportxmr.com:3333\n' >"$work/pool.txt"
gzip -c "$work/pool.txt" >"$work/pool.gz" && seed nested_archive "$work/pool.gz"
xz -c "$work/pool.txt" >"$work/pool.xz" && seed nested_archive "$work/pool.xz"
have zstd && zstd -q -c "$work/pool.txt" >"$work/pool.zst" && seed nested_archive "$work/pool.zst"
python3 -c '
import io, sys, tarfile, zipfile
inner = io.BytesIO()
with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    z.writestr("config.json", open(sys.argv[1]).read())
open(sys.argv[2] + "/app.jar", "wb").write(inner.getvalue())
with tarfile.open(sys.argv[2] + "/bundle.tar", "w") as t:
    info = tarfile.TarInfo("lib/app.jar"); info.size = len(inner.getvalue())
    t.addfile(info, io.BytesIO(inner.getvalue()))
' "$work/pool.txt" "$work"
seed nested_archive "$work/app.jar"
seed nested_archive "$work/bundle.tar"
gzip -c "$work/bundle.tar" >"$work/bundle.tgz" && seed nested_archive "$work/bundle.tgz"

# --- UPX-packed executables: the unpacker's fixtures (every method, a PE file and a
# filtered one); the walk sees them too.
for packed in "$repo"/signatures/src/nested/upx/testdata/{hello.nrv2b,hello.nrv2d,hello.nrv2e,hello.lzma,hello.exe.upx,static.brute}; do
  seed upx_unpack "$packed"
done
seed nested_archive "$repo/signatures/src/nested/upx/testdata/hello.nrv2e" hello.upx

# --- disks: a tiny ext4 and ext2, partitioned (GPT, MBR with logicals),
# converted to every image format; XFS heads; an LVM physical volume.
have mke2fs || { echo "seed.sh: no mke2fs, disk seeds left out" >&2; exit 0; }
root=$work/root
mkdir -p "$root/etc" "$root/srv/a/b" "$root/usr/bin"
printf 'ID=debian\nVERSION_ID=12\n' >"$root/etc/os-release"
printf 'LABEL=data /srv ext4 defaults 0 2\n' >"$root/etc/fstab"
head -c 20000 /dev/urandom >"$root/srv/a/b/blob"
ln -s /etc/os-release "$root/etc/link"
ln "$root/etc/fstab" "$root/srv/hard"
for i in $(seq 1 40); do : >"$root/usr/bin/tool-$i"; done
mke2fs -q -F -t ext4 -b 1024 -N 64 -O ^has_journal -d "$root" "$work/ext4.img" 256K
mke2fs -q -F -t ext2 -b 1024 -N 64 -L data -d "$root" "$work/ext2.img" 256K
mke2fs -q -F -t ext4 -b 1024 -N 64 -O ^has_journal,inline_data -d "$root" "$work/inline.img" 256K
seed ext "$work/ext4.img"
seed ext "$work/ext2.img"
seed ext "$work/inline.img"
seed partitions "$work/ext4.img" bare-ext4.img
if have sfdisk; then
  for label in gpt dos; do
    truncate -s 2M "$work/$label.img"
    if [ $label = gpt ]; then
      printf 'label: gpt\nstart=34, size=600, type=linux\nsize=300, type=linux\n' | sfdisk -q "$work/$label.img" || continue
    else
      printf 'label: dos\nstart=34, size=600, type=83\nsize=1400, type=5\nsize=300, type=83\nsize=300, type=8e\n' | sfdisk -q "$work/$label.img" || continue
    fi
    dd if="$work/ext4.img" of="$work/$label.img" bs=512 seek=34 conv=notrunc status=none 2>/dev/null || true
    seed partitions "$work/$label.img"
  done
fi
if have qemu-img; then
  disk=$work/gpt.img
  [ -f "$disk" ] || disk=$work/ext4.img
  for spec in "qcow2:qcow2:" "qcow2:qcow2-zlib:-c" "vpc:vhd:-o subformat=dynamic" \
    "vpc:vhd-fixed:-o subformat=fixed" "vhdx:vhdx:" "vmdk:vmdk:" \
    "vmdk:vmdk-stream:-o subformat=streamOptimized"; do
    IFS=: read -r format name options <<<"$spec"
    # shellcheck disable=SC2086 # options split into qemu-img arguments
    qemu-img convert -q -O "$format" $options "$disk" "$work/disk.$name" || continue
    target=${name%%-*}
    [ "$target" = vpc ] && target=vhd
    seed "$target" "$work/disk.$name"
    seed disk_image "$work/disk.$name"
  done
  qemu-img convert -q -O vmdk -o subformat=monolithicFlat "$disk" "$work/flat.vmdk" &&
    seed vmdk "$work/flat.vmdk" descriptor.vmdk
  cat >"$work/vm.ovf" <<'EOF'
<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References><File ovf:id="file1" ovf:href="disk1.vmdk"/></References>
  <DiskSection><Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="1048576"/></DiskSection>
</Envelope>
EOF
  if [ -f "$work/disk.vmdk-stream" ]; then
    cp "$work/disk.vmdk-stream" "$work/disk1.vmdk"
    tar -C "$work" --format=ustar -cf "$work/vm.ova" vm.ovf disk1.vmdk
    seed ova "$work/vm.ova"
    seed disk_image "$work/vm.ova"
  fi
fi
seed disk_image "$work/ext4.img" raw-ext4.img
if have mkfs.xfs; then
  for crc in 1 0; do
    cat >"$work/proto" <<EOF
/boot
0 0
d--755 0 0
etc d--755 0 0
os-release ---644 0 0 $root/etc/os-release
fstab ---644 0 0 $root/etc/fstab
link l--777 0 0 /etc/os-release
\$
srv d--755 0 0
blob ---600 0 0 $root/srv/a/b/blob
\$
\$
EOF
    truncate -s 300M "$work/xfs.img"
    mkfs.xfs -q -f -m crc=$crc -p "$work/proto" "$work/xfs.img"
    head -c 1M "$work/xfs.img" >"$work/xfs-head.img"
    seed xfs "$work/xfs-head.img" "xfs-crc$crc.img"
    if have qemu-img; then
      qemu-img convert -q -O qcow2 "$work/xfs.img" "$work/xfs.qcow2" &&
        seed disk_image "$work/xfs.qcow2" "xfs-crc$crc.qcow2"
    fi
    rm -f "$work/xfs.img"
  done
fi
if have pvcreate && have losetup; then
  truncate -s 8M "$work/pv.img"
  if device=$(losetup -f --show "$work/pv.img" 2>/dev/null); then
    lvm_quiet=(--config 'backup { backup = 0 archive = 0 }')
    if pvcreate -q -y "${lvm_quiet[@]}" "$device" >/dev/null 2>&1 &&
      vgcreate -q -s 1M "${lvm_quiet[@]}" fuzzvg "$device" >/dev/null 2>&1; then
      vgcfgbackup -q -f "$work/vg.txt" "${lvm_quiet[@]}" fuzzvg >/dev/null 2>&1 &&
        python3 - "$work/vg.txt" <<'EOF' &&
import re, sys
text = open(sys.argv[1]).read()
lvs = """logical_volumes {
root { id = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg" status = ["READ", "WRITE", "VISIBLE"] segment_count = 2
segment1 { start_extent = 0 extent_count = 2 type = "striped" stripe_count = 1 stripes = [ "pv0", 0 ] }
segment2 { start_extent = 2 extent_count = 1 type = "striped" stripe_count = 1 stripes = [ "pv0", 4 ] }
}
blank { id = "hhhhhh-bbbb-cccc-dddd-eeee-ffff-gggggg" status = ["READ", "VISIBLE"] segment_count = 1
segment1 { start_extent = 0 extent_count = 1 type = "zero" }
}
}
"""
text = re.sub(r"(physical_volumes \{.*?\n\t\}\n)", lambda m: m.group(1) + lvs, text, count=1, flags=re.S)
open(sys.argv[1], "w").write(text)
EOF
        vgcfgrestore -q -f "$work/vg.txt" "${lvm_quiet[@]}" fuzzvg >/dev/null 2>&1 || true
    fi
    losetup -d "$device"
    head -c 1M "$work/pv.img" >"$work/pv-head.img"
    seed lvm "$work/pv-head.img" pv.img
  fi
fi
echo "seeds in $out: $(find "$out" -type f | wc -l) files"
