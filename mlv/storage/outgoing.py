"""A pack built to be sent elsewhere (a remote): written in the store's tmp/, never indexed in
the local store, removed once sent (docs/format.md, "Remotes")."""

from __future__ import annotations

import os
from pathlib import Path

from mlv.storage.pack import PackWriter, encode_index


class OutgoingPack:
    def __init__(self, tmp_dir: Path) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self._writer = PackWriter(tmp_dir)
        self.path = self._writer.path

    def __contains__(self, digest: bytes) -> bool:
        return digest in self._writer.entries

    def __len__(self) -> int:
        return len(self._writer.entries)

    @property
    def size(self) -> int:
        return self._writer.size

    def append(self, digest: bytes, kind: int, data: bytes | memoryview) -> None:
        if digest not in self._writer.entries:
            self._writer.append(digest, kind, data)

    def seal(self) -> tuple[bytes, str]:
        """Write out what is buffered; the pack's index and name (the index's digest)."""
        self._writer.flush()
        index = encode_index(self._writer.entries)
        return index, index[-16:].hex()

    def discard(self) -> None:
        self._writer.close()
        if os.path.lexists(self.path):
            os.unlink(self.path)
