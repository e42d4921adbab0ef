"""Adopting a DVC project: ``mlv import-dvc`` (DVC's library is reached in mlv/adapters/dvc.py)."""
