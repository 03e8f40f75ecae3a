#!/usr/bin/env python3
"""Builds version pairs per scheme and records what the real tool says.

Usage: generate_vectors.py OUTDIR  (run through generate-vectors.sh)

For each scheme the pairs come from three places:
  * real version strings from the shared data (osv-scalibr, tool test
    suites, OSV records), paired with neighbours and at random;
  * real strings mutated in the places the schemes are subtle about
    (tilde, caret, epoch, leading zeros, long digit runs, letters,
    punctuation, separators, whitespace);
  * short random strings over each scheme's alphabet.
Each pair is then asked of the oracle; the file gets `a TAB b TAB r` with r
one of -1, 0, 1, or `err` when the tool rejects a or b.

Strings never contain TAB, newline or NUL (the file format and the tools'
C strings cannot carry them) and never start with `#`.
"""

import concurrent.futures
import json
import os
import random
import re
import subprocess
import sys
import zipfile

PAIRS_PER_SCHEME = 3000
SEED = 20250601

DATA = os.environ.get("IMGSCAN_SHARED_DATA", "")
VERS = os.path.join(DATA, "versions")
OSV = os.path.join(DATA, "osv")


def clean(s):
    return (
        isinstance(s, str)
        and s != ""
        and not any(c in s for c in "\t\n\r\x00")
        and not s.startswith("#")
        and len(s) <= 200
    )


def lines(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                yield line


def op_file(path):
    """`a OP b` files (osv-scalibr, apk-tools): both sides."""
    out = []
    for line in lines(path):
        parts = line.split()
        if len(parts) >= 3:
            out.append((parts[0], parts[2]))
    return out


def osv_versions(records):
    """Every event version and listed version in OSV records."""
    out = []
    for rec in records:
        for aff in rec.get("affected", []):
            out.extend(v for v in aff.get("versions", []) if isinstance(v, str))
            for rng in aff.get("ranges", []):
                for ev in rng.get("events", []):
                    for k in ("introduced", "fixed", "last_affected"):
                        v = ev.get(k)
                        if isinstance(v, str) and v != "0":
                            out.append(v)
    return out


def sample_dir(name):
    d = os.path.join(OSV, "samples", name)
    recs = []
    for f in sorted(os.listdir(d)):
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            recs.append(json.load(fh))
    return recs


def zip_records(name, limit, rng):
    with zipfile.ZipFile(os.path.join(OSV, name)) as z:
        names = sorted(z.namelist())
        rng.shuffle(names)
        return [json.loads(z.read(n)) for n in names[:limit]]


# ---------------------------------------------------------------- mutations

def long_digits(rng):
    return str(rng.randint(1, 9)) + "".join(
        rng.choice("0123456789") for _ in range(rng.randint(9, 40))
    )


def mutate(s, rng, extra):
    """One small edit in a place version schemes are picky about."""
    kind = rng.randrange(12)
    pos = rng.randint(0, len(s))
    if kind == 0:
        return s[:pos] + rng.choice(extra) + s[pos:]
    if kind == 1:  # change one digit
        idx = [i for i, c in enumerate(s) if c.isdigit()]
        if idx:
            i = rng.choice(idx)
            return s[:i] + rng.choice("0123456789") + s[i + 1 :]
    if kind == 2:  # leading zeros on a digit run
        m = list(re.finditer(r"\d+", s))
        if m:
            g = rng.choice(m)
            return s[: g.start()] + "0" * rng.randint(1, 3) + s[g.start() :]
    if kind == 3:
        return s + rng.choice(extra) + rng.choice(["", "1", "a", "rc1", "0"])
    if kind == 4:  # long digit run
        m = list(re.finditer(r"\d+", s))
        if m:
            g = rng.choice(m)
            return s[: g.start()] + long_digits(rng) + s[g.end() :]
    if kind == 5 and len(s) > 1:  # drop a character
        i = rng.randrange(len(s))
        return s[:i] + s[i + 1 :]
    if kind == 6:  # letter
        return s[:pos] + rng.choice("abcxyzABZ") + s[pos:]
    if kind == 7:  # truncate
        return s[: max(1, pos)]
    if kind == 8:  # epoch
        return rng.choice(["0:", "1:", "2:", "00:", "10:", ":", "a:", "-1:", "+1:", long_digits(rng) + ":"]) + s
    if kind == 9:  # double a separator
        return s.replace(".", "..", 1) if "." in s else s + ".."
    if kind == 10:  # whitespace / odd bytes
        return rng.choice([" ", "", "\u00e9", "\u00a0"]) + s + rng.choice(["", " ", "  ", "\u00df"])
    return s + rng.choice(["", ".0", ".00", "0", "~", "^", "-1", "-r0", "_p1", "+b"])


def random_string(rng, alphabet, maxlen=8):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, maxlen)))


def build_pairs(real, rng, extra, alphabet, adjacent):
    """PAIRS_PER_SCHEME distinct pairs, about: 25% neighbours from ordered
    vector files, 25% random real pairs, 35% a real string against its
    mutation, 15% random strings (also paired with mutations of each
    other, so equal-ish pairs are common)."""
    real = sorted({s for s in real if clean(s)})
    adjacent = [(a, b) for a, b in adjacent if clean(a) and clean(b)]
    rng.shuffle(adjacent)
    pairs = []
    seen = set()

    def add(a, b):
        if clean(a) and clean(b) and (a, b) not in seen:
            seen.add((a, b))
            pairs.append((a, b))

    for a, b in adjacent[: PAIRS_PER_SCHEME // 4]:
        add(a, b)
    while len(pairs) < PAIRS_PER_SCHEME // 2:
        add(rng.choice(real), rng.choice(real))
    while len(pairs) < PAIRS_PER_SCHEME * 85 // 100:
        a = rng.choice(real)
        b = mutate(a, rng, extra)
        if rng.random() < 0.3:
            b = mutate(b, rng, extra)
        add(a, b) if rng.random() < 0.5 else add(b, a)
    while len(pairs) < PAIRS_PER_SCHEME:
        a = random_string(rng, alphabet)
        b = mutate(a, rng, extra) if rng.random() < 0.5 else random_string(rng, alphabet)
        add(a, b)
    return pairs


# ------------------------------------------------------------------ oracles

def dpkg_one(pair):
    a, b = pair

    def run(op):
        return subprocess.run(
            ["dpkg", "--compare-versions", "--", a, op, b],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ).returncode

    rc = run("lt")
    if rc == 0:
        return "-1"
    if rc != 1:
        return "err"
    rc = run("gt")
    if rc == 0:
        return "1"
    if rc != 1:
        return "err"
    return "0"


def dpkg_oracle(pairs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(dpkg_one, pairs))


def lua_str(s):
    return '"' + "".join("\\%d" % b for b in s.encode("utf-8")) + '"'


def rpm_oracle(pairs):
    out = []
    # rpm --eval gets the chunk as one argument: stay under MAX_ARG_STRLEN.
    for i in range(0, len(pairs), 300):
        chunk = pairs[i : i + 300]
        body = ["local function c(a, b) local ok, r = pcall(rpm.vercmp, a, b) "
                "if ok then io.write(tostring(r), string.char(10)) "
                "else io.write(\"err\", string.char(10)) end end"]
        body += ["c(%s,%s)" % (lua_str(a), lua_str(b)) for a, b in chunk]
        res = subprocess.run(
            ["rpm", "--eval", "%{lua: " + " ".join(body) + "}"],
            capture_output=True,
            check=True,
        )
        got = res.stdout.decode().split()
        assert len(got) == len(chunk), (len(got), len(chunk))
        out.extend(got)
    return out


def semver_oracle(pairs, here):
    res = subprocess.run(
        ["node", os.path.join(here, "semver-oracle.js")],
        input="".join("%s\t%s\n" % p for p in pairs).encode("utf-8"),
        capture_output=True,
        check=True,
    )
    got = res.stdout.decode().split()
    assert len(got) == len(pairs)
    return got


def tool_version(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()


def write(path, header, pairs, results):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for h in header:
            f.write("# " + h + "\n")
        for (a, b), r in zip(pairs, results):
            f.write("%s\t%s\t%s\n" % (a, b, r))
    counts = {r: results.count(r) for r in sorted(set(results))}
    print("%s: %d pairs %s" % (os.path.basename(path), len(pairs), counts))


COMMON = [
    "Generated by generate-vectors.sh (generate_vectors.py); do not edit.",
    "Format: a TAB b TAB r; r = ordering of a against b (-1, 0, 1), or err when the tool rejects a or b.",
]


def main():
    here = sys.argv[1]
    rng = random.Random(SEED)

    # dpkg ------------------------------------------------------------
    adj = op_file(os.path.join(VERS, "osv-scalibr/debian-versions.txt"))
    adj += op_file(os.path.join(VERS, "osv-scalibr/debian-versions-generated.txt"))
    real = [x for p in adj for x in p]
    for line in lines(os.path.join(VERS, "dpkg-Dpkg_Version.txt")):
        parts = line.split()
        if len(parts) == 3:
            adj.append((parts[0], parts[1]))
            real += parts[:2]
    real += osv_versions(sample_dir("debian"))
    pairs = build_pairs(
        real, rng, list("~+-.:_") + ["~~", "+dfsg", "~rc1", "-0", "a", "Z", "%", "!", "@"],
        "0123456789.:+-~abzAZ_", adj,
    )
    write(os.path.join(here, "dpkg-vectors.tsv"),
          COMMON + ["Oracle: dpkg --compare-versions -- A lt|gt B (" + tool_version(["dpkg", "--version"]) + ")."],
          pairs, dpkg_oracle(pairs))

    # rpm -------------------------------------------------------------
    adj = op_file(os.path.join(VERS, "osv-scalibr/redhat-versions.txt"))
    for name in ("rpm-rpmvercmp.tsv",):
        for line in lines(os.path.join(VERS, name)):
            parts = line.split("\t")
            if len(parts) >= 2:
                adj.append((parts[0], parts[1]))
    for line in lines(os.path.join(VERS, "claircore-rpmver/rpmvercmp")):
        parts = line.split()
        if len(parts) >= 3:
            adj.append((parts[0], parts[2]))
    real = [x for p in adj for x in p]
    real += osv_versions(sample_dir("redhat") + sample_dir("rocky"))
    real += osv_versions(zip_records("AlmaLinux-all.zip", 400, rng))
    pairs = build_pairs(
        real, rng, list("~^-.:_+") + ["~~", "^^", "~rc1", "^git1", ".el9", "a", "Z", "%", "\u00e9"],
        "0123456789.:-~^abzAZ_+", adj,
    )
    write(os.path.join(here, "rpm-vectors.tsv"),
          COMMON + ["Oracle: rpm --eval '%{lua: rpm.vercmp(A, B)}' (" + tool_version(["rpm", "--version"]) + ")."],
          pairs, rpm_oracle(pairs))

    # semver (npm) ----------------------------------------------------
    adj = op_file(os.path.join(VERS, "osv-scalibr/semver-versions.txt"))
    real = [x for p in adj for x in p]
    ns = os.path.join(VERS, "node-semver")
    for name in ("comparisons.json", "equality.json"):
        with open(os.path.join(ns, name), encoding="utf-8") as f:
            for row in json.load(f):
                if isinstance(row, list) and len(row) >= 2 and isinstance(row[0], str) and isinstance(row[1], str):
                    adj.append((row[0], row[1]))
                    real += row[:2]
    for name in ("valid-versions.json", "invalid-versions.json"):
        with open(os.path.join(ns, name), encoding="utf-8") as f:
            for row in json.load(f):
                if isinstance(row, list) and row and isinstance(row[0], str):
                    real.append(row[0])
    real += osv_versions(sample_dir("npm-ghsa") + sample_dir("npm-malicious"))
    real += osv_versions(zip_records("npm-malicious-all.zip", 1500, rng))
    pairs = build_pairs(
        real, rng, list(".-+") + ["-0", "-01", "-alpha", "-alpha.1", "+build.5", "v", "=", "-9007199254740993", "x", "\u00e9"],
        "0123456789.-+abzAZv", adj,
    )
    node_semver = json.load(open(os.path.join(os.environ["NODE_PATH"], "semver", "package.json")))["version"]
    write(os.path.join(here, "semver-vectors.tsv"),
          COMMON + ["Oracle: node-semver " + node_semver + " semver.compare(A, B) (node " + tool_version(["node", "--version"]) + ")."],
          pairs, semver_oracle(pairs, here))


if __name__ == "__main__":
    main()
