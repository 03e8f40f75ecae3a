#!/usr/bin/env bash
# Installs Debian's upx-ucl privately under DIR (default /var/tmp/imgscan-upx)
# and prints the path of an `upx` wrapper that runs it. Debian 12 has no
# upx-ucl; Debian 13's build needs a newer C library than 12's, so the
# packages come from trixie through apt (signatures checked against the
# Debian archive keyring) and run under trixie's own loader, never installed
# system-wide. The UPX unpacker tests pack real binaries with it.
set -euo pipefail
dir=${1:-/var/tmp/imgscan-upx}
wrapper="$dir/upx"
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
echo "deb http://deb.debian.org/debian trixie main" > "$dir/apt/sources.list"
apt_opts=(-q -o "Dir::Etc::SourceList=$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o Dir::State::status=/dev/null
  -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update >&2
(cd "$dir/debs" && apt-get "${apt_opts[@]}" download upx-ucl libc6 libgcc-s1 libstdc++6 >&2)
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu"
cat > "$wrapper" <<WRAP
#!/bin/sh
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$dir/root/usr/bin/upx-ucl" "\$@"
WRAP
chmod +x "$wrapper"
"$wrapper" --version >/dev/null
rm -rf "$dir/apt" "$dir/debs"
echo "$wrapper"
