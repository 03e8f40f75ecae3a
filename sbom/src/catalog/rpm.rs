//! RPM databases (sqlite, Berkeley DB hash, ndb) and header blobs.
