#!/usr/bin/env bash
# Rebuilds the UPX unpacker's fixtures with Debian's upx-ucl 4.2.4
# (scripts/install-upx.sh; IMGSCAN_UPX names it, else `upx` on PATH):
#   hello.{nrv2e,lzma,nrv2b,nrv2d}  hello.c, stripped, packed with each method
#   hello.exe.upx                   hello.c built for win64 by mingw-w64
#                                   (gcc-mingw-w64-x86-64), packed (NRV2B,
#                                   filter 0x49)
#   static.brute                    a freestanding static program of many
#                                   calls, packed with --brute (LZMA, and the
#                                   x86 call-trick filter 0x49: UPX filters
#                                   only where it pays, as here)
# NAME.sha256 holds the SHA-256 of the binary before packing, which each
# packed file must unpack to. Writes beside itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
upx=${IMGSCAN_UPX:-upx}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O1 -o "$work/hello" "$here/hello.c"
strip "$work/hello"
sha256sum "$work/hello" | cut -d' ' -f1 >"$here/hello.sha256"
for method in nrv2e lzma nrv2b nrv2d; do
  "$upx" -q "--$method" -o "$work/hello.$method" "$work/hello" >/dev/null
  cp "$work/hello.$method" "$here/hello.$method"
done

x86_64-w64-mingw32-gcc -O1 -o "$work/hello.exe" "$here/hello.c"
x86_64-w64-mingw32-strip "$work/hello.exe"
"$upx" -q -o "$work/hello.exe.upx" "$work/hello.exe" >/dev/null
cp "$work/hello.exe.upx" "$here/hello.exe.upx"

# 300 functions calling each other, and a _start that writes and exits.
awk 'BEGIN {
  n = 300
  for (i = 0; i < n; i++) printf "int f%d(int x);\n", i
  for (i = 0; i < n; i++)
    printf "int f%d(int x) { if (x <= 0) return %d; if (x & 1) return f%d(x - 1) + f%d(x - 3); return f%d(x / 2) ^ %d; }\n", i, i, (i * 7 + 3) % n, (i * 17 + 11) % n, (i * 13 + 5) % n, i * 3
  print "static const char msg[] = \"hello from an unpacked static program\\n\";"
  print "void _start(void) { long r = f0(7); __asm__ volatile(\"syscall\" :: \"a\"(1), \"D\"(1), \"S\"(msg), \"d\"(sizeof msg - 1) : \"rcx\", \"r11\", \"memory\"); __asm__ volatile(\"syscall\" :: \"a\"(60), \"D\"(r & 1) : \"rcx\", \"r11\"); for (;;); }"
}' >"$work/static.c"
cc -O1 -fno-inline -static -nostdlib -o "$work/static" "$work/static.c"
strip "$work/static"
sha256sum "$work/static" | cut -d' ' -f1 >"$here/static.sha256"
"$upx" -q --brute -o "$work/static.brute" "$work/static" >/dev/null
cp "$work/static.brute" "$here/static.brute"
