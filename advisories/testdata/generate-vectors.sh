#!/bin/sh
# Regenerates the version-ordering vectors in this folder by asking the real
# tools: dpkg (`dpkg --compare-versions`), rpm (`rpm.vercmp` in rpm's Lua) and
# node-semver (`semver.compare`). Needs: dpkg, rpm (apt-get install rpm),
# node and npm. Reads real version strings from the shared data folder
# (IMGSCAN_SHARED_DATA, default ../shared/data from the workspace root).
# Deterministic: the same tools and data give the same files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${IMGSCAN_SHARED_DATA:=$root/../shared/data}"
export IMGSCAN_SHARED_DATA

# node-semver in a throw-away prefix, so the vectors name the version used.
nodedir=$(mktemp -d)
trap 'rm -rf "$nodedir"' EXIT
(cd "$nodedir" && npm install --silent --no-audit --no-fund semver@7 >/dev/null)
export NODE_PATH="$nodedir/node_modules"

exec python3 "$here/generate_vectors.py" "$here"
