"""Boundaries to outside programs and heavy libraries (git, pandas, pyarrow), imported lazily."""
