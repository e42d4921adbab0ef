"""Object ids: the algorithm travels with the digest (``xxh128:<32 hex>``).

``ObjectId`` is a ``str`` subtype holding the full ``algorithm:digest`` text: comparing, hashing
and encoding ids are then string operations, which matters when a status compares 10^5 files.
The type still keeps bare hex strings from crossing module boundaries, and ``parse`` validates
every id that comes from outside.
"""

from __future__ import annotations

import re

from mlv.errors import ManifestError

ALGORITHM = "xxh128"
_DIGEST_LENGTH = {"xxh128": 32}
ALGORITHMS = frozenset(_DIGEST_LENGTH)
_HEX = frozenset("0123456789abcdef")
# A well-formed id of the one algorithm there is: one regex match (trees hold 10^5 of them).
_WELL_FORMED = re.compile(r"xxh128:[0-9a-f]{32}")


class ObjectId(str):
    """A content address ``algorithm:hexdigest``. Immutable and hashable like any string."""

    __slots__ = ()

    def __new__(cls, algorithm: str, digest: str) -> ObjectId:
        expected = _DIGEST_LENGTH.get(algorithm)
        if expected is None:
            raise ManifestError(
                f"unknown hash algorithm {algorithm!r}",
                f"this mlv knows: {', '.join(sorted(_DIGEST_LENGTH))}; is a newer mlv needed?",
            )
        if len(digest) != expected or not _HEX.issuperset(digest):
            raise ManifestError(
                f"malformed {algorithm} digest {digest!r}", "ids look like xxh128:<32 hex digits>"
            )
        return str.__new__(cls, f"{algorithm}:{digest}")

    @classmethod
    def parse(cls, text: str) -> ObjectId:
        """Validate an id that comes from a file, a database or a user."""
        if _WELL_FORMED.fullmatch(text):
            return str.__new__(cls, text)
        algorithm, sep, digest = text.partition(":")
        if not sep:
            raise ManifestError(
                f"malformed object id {text!r}", "ids look like xxh128:<32 hex digits>"
            )
        return cls(algorithm, digest)

    @classmethod
    def xxh128(cls, hexdigest: str) -> ObjectId:
        """The id of a digest mlv's own hasher just produced (no validation needed)."""
        return str.__new__(cls, f"{ALGORITHM}:{hexdigest}")

    @classmethod
    def trusted(cls, text: str) -> ObjectId:
        """An id read back from mlv's own stat cache, where only validated ids are written."""
        return str.__new__(cls, text)

    @property
    def algorithm(self) -> str:
        return self.partition(":")[0]

    @property
    def digest(self) -> str:
        return self.partition(":")[2]

    @property
    def short(self) -> str:
        return self.digest[:10]

    def __repr__(self) -> str:
        return f"ObjectId({str(self)!r})"
