"""PEP 440 oracle for tests/versions.rs: reads JSON lines `[a, b]` on stdin,
writes -1, 0, 1 (Version(a) against Version(b)) or err per line, then, for
lines `[v]`, str(Version(v)) or err. Needs the `packaging` library."""

import json
import sys

from packaging.version import InvalidVersion, Version


def parse(s):
    try:
        return Version(s)
    except InvalidVersion:
        return None


for line in sys.stdin:
    row = json.loads(line)
    if len(row) == 2:
        a, b = parse(row[0]), parse(row[1])
        print("err" if a is None or b is None else (a > b) - (a < b))
    else:
        v = parse(row[0])
        print(json.dumps("err" if v is None else str(v)))
