#!/usr/bin/env python3
"""Builds PEP 440 version strings and records what `packaging` says of them.

Usage: generate_pep440_vectors.py OUTDIR  (run through
generate-pep440-vectors.sh, with a Python that has `packaging`)

Writes two files:
  * pep440-vectors.tsv: `a TAB b TAB r`, r the ordering of
    packaging.version.Version(a) against Version(b) (-1, 0, 1), or `err`
    when either raises InvalidVersion;
  * pep440-normal.tsv: `v TAB str(Version(v))`, or `err`.

The strings come from the PEP's own examples, from a generator over the
grammar that varies every part the PEP lets be spelled several ways
(`v` prefix, case, separators, implicit numbers, leading zeros, long
digit runs, epochs, local versions, surrounding whitespace), from mutations
of those (a character inserted, removed or swapped), and from short random
strings over the grammar's alphabet. Pairs are mostly a version against a
variant of itself differing in one part, where ordering is subtle.
Deterministic: the same seed and packaging version give the same files.
"""

import os
import random
import sys

import packaging
from packaging.version import InvalidVersion, Version

SEED = 20251201
PAIRS = 3000
SINGLES = 1500

PEP_EXAMPLES = """
1.dev0 1.0.dev456 1.0a1 1.0a2.dev456 1.0a12.dev456 1.0a12 1.0b1.dev456 1.0b2
1.0b2.post345.dev456 1.0b2.post345 1.0rc1.dev456 1.0rc1 1.0 1.0+abc.5
1.0+abc.7 1.0+5 1.0.post456.dev34 1.0.post456 1.0.15 1.1.dev1 1!1.0
0.1 0.2 0.3 1.0 1.1 1.1.0 1.1.1 1.1.2 1.2.0 2012.4 2012.7 2012.10 2013.1
1.0a 1.0.a1 1.0-a1 1.0_a1 1.0alpha1 1.0beta2 1.0c1 1.0pre1 1.0preview1
1.0RC1 1.0-1 1.0.post 1.0-r1 1.0rev1 1.0.dev 1.0-dev1 v1.0 V1.0 1.0+ubuntu-1
1.0+ubuntu_1 00!01.02 1.0a.1 1.0a-1 1.0post-1 2004d 1.0-foo 0.3.1-hg
1.0+ 1.0- 1..0 .1 1.0. 1! !1 1.0a1a2 1.0.post1.post2 1.0+a..b
""".split()

SEPS = ["", ".", "-", "_"]
PRE = ["a", "alpha", "b", "beta", "c", "rc", "pre", "preview", "A", "Alpha", "RC", "Pre"]
POST = ["post", "rev", "r", "POST", "Rev", "R"]
DEV = ["dev", "DEV", "Dev"]
ALPHABET = "0123456789.-_+!abcdeilmnoprstvvwABCRVP "
SPACES = ["", " ", "\t", "\n", "\x0c", "\u3000", "\xa0", "\x1f"]


def number(rng):
    r = rng.random()
    if r < 0.55:
        return str(rng.randint(0, 3))
    if r < 0.75:
        return str(rng.randint(0, 20))
    if r < 0.85:
        return "0" * rng.randint(1, 3) + str(rng.randint(0, 9))
    if r < 0.95:
        return str(rng.randint(2000, 2030))
    return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(18, 40)))


def build(rng, parts=None):
    """A version from the grammar, as a dict of parts then a string."""
    p = parts or {}
    if parts is None:
        p["v"] = rng.choice(["", "", "", "", "v", "V"])
        p["epoch"] = rng.choice([None] * 6 + ["0", "1", "2", "00"])
        p["release"] = [number(rng) for _ in range(rng.choice([1, 2, 2, 3, 3, 3, 4]))]
        p["pre"] = None
        if rng.random() < 0.35:
            p["pre"] = (rng.choice(SEPS), rng.choice(PRE), rng.choice(SEPS), rng.choice([None, "0", "1", "2", "10"]))
        p["post"] = None
        if rng.random() < 0.3:
            if rng.random() < 0.25:
                p["post"] = ("-", None, "", number(rng))
            else:
                p["post"] = (rng.choice(SEPS), rng.choice(POST), rng.choice(SEPS), rng.choice([None, "0", "1", "5"]))
        p["dev"] = None
        if rng.random() < 0.3:
            p["dev"] = (rng.choice(SEPS), rng.choice(DEV), rng.choice(SEPS), rng.choice([None, "0", "1", "3"]))
        p["local"] = None
        if rng.random() < 0.2:
            segs = [rng.choice(["ubuntu", "abc", "1", "01", "7", "cpu", "CU118", "a1b", "0"]) for _ in range(rng.randint(1, 3))]
            p["local"] = "".join(s + rng.choice([".", "-", "_"]) for s in segs[:-1]) + segs[-1]
        p["ws"] = (rng.choice(SPACES) if rng.random() < 0.1 else "", rng.choice(SPACES) if rng.random() < 0.1 else "")
    return p


def render(p):
    s = p["ws"][0] + p["v"]
    if p["epoch"] is not None:
        s += p["epoch"] + "!"
    s += ".".join(p["release"])
    for key in ("pre", "post", "dev"):
        part = p[key]
        if part:
            sep1, word, sep2, n = part
            s += sep1 + (word or "") + (sep2 if n is not None else "") + (n or "")
    if p["local"]:
        s += "+" + p["local"]
    return s + p["ws"][1]


def variant(rng, p):
    """`p` with one part changed."""
    q = dict(p)
    q["release"] = list(p["release"])
    what = rng.choice(["epoch", "release", "zeros", "pre", "post", "dev", "local", "spelling"])
    if what == "epoch":
        q["epoch"] = rng.choice([None, "0", "1"])
    elif what == "release":
        i = rng.randrange(len(q["release"]))
        q["release"][i] = number(rng)
    elif what == "zeros":
        q["release"] = q["release"] + ["0"] * rng.randint(1, 2) if rng.random() < 0.6 else q["release"][:1]
    elif what in ("pre", "post", "dev", "local"):
        fresh = build(rng)
        q[what] = fresh[what] if q[what] is None or rng.random() < 0.5 else None
    else:
        q["v"] = rng.choice(["", "v"])
        for key, words in (("pre", PRE), ("post", POST), ("dev", DEV)):
            if q[key] and q[key][1] is not None:
                sep1, word, sep2, n = q[key]
                q[key] = (rng.choice(SEPS), rng.choice(words), rng.choice(SEPS), n)
    return q


def mutate(rng, s):
    if not s:
        return rng.choice(ALPHABET)
    i = rng.randrange(len(s) + 1)
    r = rng.random()
    if r < 0.4:
        return s[:i] + rng.choice(ALPHABET) + s[i:]
    if r < 0.7:
        return s[:i] + s[i + 1 :]
    j = rng.randrange(len(s))
    return s[:j] + rng.choice(ALPHABET) + s[j + 1 :]


def random_string(rng):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8)))


def clean(s):
    return s != "" and not any(c in s for c in "\t\n\r\x00\x85\u2028\u2029") and not s.startswith("#")


def parse(s):
    try:
        return Version(s)
    except InvalidVersion:
        return None


def order(a, b):
    va, vb = parse(a), parse(b)
    if va is None or vb is None:
        return "err"
    return str((va > vb) - (va < vb))


def main():
    out = sys.argv[1]
    rng = random.Random(SEED)
    pool = [s for s in PEP_EXAMPLES]
    pairs = []
    # The PEP's examples against each other, neighbour by neighbour.
    for a, b in zip(PEP_EXAMPLES, PEP_EXAMPLES[1:]):
        pairs.append((a, b))
    while len(pairs) < PAIRS:
        r = rng.random()
        p = build(rng)
        a = render(p)
        if r < 0.6:
            b = render(variant(rng, p))
        elif r < 0.75:
            b = mutate(rng, a)
        elif r < 0.9:
            b = render(build(rng))
        else:
            a, b = random_string(rng), rng.choice(pool)
        if clean(a) and clean(b):
            pairs.append((a, b))
            pool.append(a)
    singles = list(dict.fromkeys(PEP_EXAMPLES))
    seen = set(singles)
    while len(singles) < SINGLES:
        r = rng.random()
        s = render(build(rng))
        if r < 0.3:
            s = mutate(rng, s)
        elif r < 0.4:
            s = random_string(rng)
        if clean(s) and s not in seen:
            seen.add(s)
            singles.append(s)
    oracle = f"packaging {packaging.__version__} packaging.version.Version (Python {sys.version.split()[0]})"
    with open(os.path.join(out, "pep440-vectors.tsv"), "w", encoding="utf-8") as f:
        f.write("# Generated by generate-pep440-vectors.sh (generate_pep440_vectors.py); do not edit.\n")
        f.write("# Format: a TAB b TAB r; r = ordering of a against b (-1, 0, 1), or err when the tool rejects a or b.\n")
        f.write(f"# Oracle: {oracle}: Version(a) < / == / > Version(b); err on InvalidVersion.\n")
        for a, b in pairs:
            f.write(f"{a}\t{b}\t{order(a, b)}\n")
    with open(os.path.join(out, "pep440-normal.tsv"), "w", encoding="utf-8") as f:
        f.write("# Generated by generate-pep440-vectors.sh (generate_pep440_vectors.py); do not edit.\n")
        f.write("# Format: v TAB normal; normal = str(Version(v)), or err when the tool rejects v.\n")
        f.write(f"# Oracle: {oracle}.\n")
        for s in singles:
            v = parse(s)
            f.write(f"{s}\t{'err' if v is None else str(v)}\n")


if __name__ == "__main__":
    main()
