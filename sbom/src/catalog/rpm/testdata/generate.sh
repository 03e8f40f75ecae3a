#!/usr/bin/env bash
# Regenerates the rpm cataloger's test databases and their oracles from the
# spec files in specs/, with Debian's rpm (packages `rpm`, `db5.3-util`,
# `python3`). Run from anywhere; writes only into this directory:
#
#   rpmdb.sqlite        sqlite rpmdb, as rpm installed the packages (--justdb)
#   Packages            Berkeley DB hash, little-endian, 1 KiB pages: the same
#                       header blobs loaded with db5.3_load
#   Packages.be         the same, big-endian, 512-byte pages (long overflow chains)
#   Packages.db         ndb, written by gen_ndb.py from the same blobs
#   oracle-*.txt        `rpm -qa` of each database: NAME EPOCHNUM:VERSION-RELEASE ARCH
#
# Build times and install times differ on every run, so the binaries change;
# the oracles do not.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
qf='%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\n'

for spec in "$here"/specs/*.spec; do
  rpmbuild --quiet --define "_topdir $work/build" -bb "$spec" > /dev/null
done

# sqlite: install into an empty root's database only (no files, no scripts).
root="$work/root"
mkdir -p "$root"
rpm --root "$root" --dbpath /var/lib/rpm --initdb
rpm --root "$root" --dbpath /var/lib/rpm -i --justdb --nodeps --noscripts \
  --notriggers --nosignature --nodigest --ignorearch "$work"/build/RPMS/*/*.rpm
# Fold the write-ahead log into the file and drop free pages, as a closed
# database on a real image looks; the file stays in WAL mode.
python3 - "$root/var/lib/rpm/rpmdb.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.execute("VACUUM")
db.close()
PY
cp "$root/var/lib/rpm/rpmdb.sqlite" "$here/rpmdb.sqlite"
rpm --root "$root" --dbpath /var/lib/rpm -qa --qf "$qf" | LC_ALL=C sort > "$here/oracle-sqlite.txt"

# Berkeley DB hash: key = header number (4 bytes, the writer's byte order),
# data = header blob; plus rpm's record 0 holding the next header number.
dump_blobs() { # ORDER(<|>) -> db_load -T input on stdout
  python3 - "$here/rpmdb.sqlite" "$1" <<'PY'
import sqlite3, struct, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?immutable=1", uri=True)
order = sys.argv[2]
rows = db.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
esc = lambda b: "".join(f"\\{x:02x}" for x in b)
print(esc(struct.pack(order + "I", 0)))
print(esc(struct.pack(order + "I", max(h for h, _ in rows) + 1)))
for hnum, blob in rows:
    print(esc(struct.pack(order + "I", hnum)))
    print(esc(blob))
PY
}
rm -f "$here/Packages" "$here/Packages.be"
dump_blobs '<' | db5.3_load -T -t hash -c db_pagesize=1024 -c db_lorder=1234 "$here/Packages"
dump_blobs '>' | db5.3_load -T -t hash -c db_pagesize=512 -c db_lorder=4321 "$here/Packages.be"
bdb="$work/bdb"
mkdir -p "$bdb"
cp "$here/Packages" "$bdb/Packages"
rpm --dbpath "$bdb" --define '_db_backend bdb_ro' -qa --qf "$qf" 2> /dev/null | LC_ALL=C sort > "$here/oracle-bdb.txt"
cmp "$here/oracle-sqlite.txt" "$here/oracle-bdb.txt"

# ndb: Debian's rpm has no ndb backend, so the oracle is the sqlite one the
# blobs came from.
python3 "$here/gen_ndb.py" "$here/rpmdb.sqlite" "$here/Packages.db"
cp "$here/oracle-sqlite.txt" "$here/oracle-ndb.txt"

ls -l "$here"
