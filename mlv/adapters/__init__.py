"""Boundaries to outside programs and heavy libraries (git, fsspec for remotes), reached lazily."""
