import os
from pathlib import Path

import xxhash

from mlv.storage.hashing import BLOCK_SIZE, hash_bytes, hash_file


def test_file_hash_matches_reference_across_block_boundaries(tmp_path: Path) -> None:
    data = os.urandom(BLOCK_SIZE * 2 + 123)
    path = tmp_path / "f"
    path.write_bytes(data)
    seen: list[int] = []
    oid = hash_file(path, seen.append)
    assert oid.algorithm == "xxh128"
    assert oid.digest == xxhash.xxh3_128_hexdigest(data)
    assert oid == hash_bytes(data)
    assert sum(seen) == len(data) and max(seen) <= BLOCK_SIZE


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e").write_bytes(b"")
    assert hash_file(tmp_path / "e") == hash_bytes(b"")
