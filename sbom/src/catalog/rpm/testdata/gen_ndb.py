#!/usr/bin/env python3
"""Writes an rpm ndb package database (`Packages.db`, SUSE's format) from
the header blobs of an rpm sqlite database, so the ndb reader is tested on
real headers although Debian's rpm cannot write ndb itself.

Layout (all integers little-endian): a 32-byte header (`RpmP`, version 0,
generation, number of 4 KiB slot pages, next package index) followed by
16-byte slots (`Slot`, package index, block offset, block count; offset 0 =
free) filling the slot pages; then 16-byte blocks holding blobs: `BlbS`,
package index, timestamp, length, the header blob, zero padding, and a tail
of adler32 (over head, blob and padding), length and `BlbE`.

A free slot and a zeroed gap between two blobs are left on purpose: a
reader must skip both, as after a package was erased.

Usage: gen_ndb.py RPMDB_SQLITE OUTPUT
"""
import sqlite3
import struct
import sys
import zlib

PAGE = 4096
SLOT = 16
BLK = 16
TIMESTAMP = 1700000000


def main():
    source, output = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(f"file:{source}?immutable=1", uri=True)
    blobs = db.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    slots_needed = len(blobs) + 1  # plus the deliberately free slot
    slot_pages = (32 + slots_needed * SLOT + PAGE - 1) // PAGE
    blkoff = slot_pages * PAGE // BLK
    slots = []
    data = bytearray()
    for i, (hnum, blob) in enumerate(blobs):
        if i == len(blobs) // 2:
            slots.append((0, 0, 0))  # an erased package's slot
            data += bytes(3 * BLK)  # and the zeroed space it held
            blkoff += 3
        head = struct.pack("<4sIII", b"BlbS", hnum, TIMESTAMP, len(blob))
        blkcnt = (16 + len(blob) + 12 + BLK - 1) // BLK
        pad = bytes(blkcnt * BLK - (16 + len(blob) + 12))
        adler = zlib.adler32(head + blob + pad, 1)
        data += head + blob + pad + struct.pack("<II4s", adler, len(blob), b"BlbE")
        slots.append((hnum, blkoff, blkcnt))
        blkoff += blkcnt
    next_index = max((h for h, _ in blobs), default=0) + 1
    out = bytearray(struct.pack("<4sIIII", b"RpmP", 0, len(blobs) + 2, slot_pages, next_index))
    out += bytes(32 - len(out))
    for pkgidx, off, cnt in slots:
        out += struct.pack("<4sIII", b"Slot", pkgidx, off, cnt)
    while len(out) < slot_pages * PAGE:
        out += struct.pack("<4sIII", b"Slot", 0, 0, 0)
    out += data
    with open(output, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
