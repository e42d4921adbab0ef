"""The local object store's upkeep: ``gc`` removes what nothing kept references, ``verify``
re-hashes objects and checks that every referenced one exists (locally or on a remote)."""
