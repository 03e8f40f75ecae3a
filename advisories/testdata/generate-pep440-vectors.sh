#!/bin/sh
# Regenerates pep440-vectors.tsv and pep440-normal.tsv by asking the real
# oracle of PEP 440, Python's `packaging` library (packaging.version.Version),
# in a throw-away virtualenv so the files name the version used. Needs
# python3 with venv and pip, and PyPI reachable (or PACKAGING_PYTHON set to a
# Python that already has packaging, e.g. the CI venv IMGSCAN_SBOM_PYTHON).
# Deterministic: the same packaging version gives the same files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${PACKAGING_PYTHON:-}" ]; then
  venv=$(mktemp -d)
  trap 'rm -rf "$venv"' EXIT
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'packaging==26.4'
  PACKAGING_PYTHON="$venv/bin/python"
fi
exec "$PACKAGING_PYTHON" "$here/generate_pep440_vectors.py" "$here"
