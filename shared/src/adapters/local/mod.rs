//! Embedded adapters: SQLite, key files, in-process queue, a directory.
