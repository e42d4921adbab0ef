"""Hashing, the object store, the stat cache and file-system primitives."""
