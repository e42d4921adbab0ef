"""Object ids: the algorithm travels with the digest (``xxh128:<32 hex>``)."""

from __future__ import annotations

from typing import Any

from mlv.errors import ManifestError

ALGORITHM = "xxh128"
_DIGEST_LENGTH = {"xxh128": 32}
_HEX = frozenset("0123456789abcdef")


class ObjectId:
    """A content address: hashing algorithm and lowercase hex digest. Immutable and hashable."""

    __slots__ = ("algorithm", "digest")
    algorithm: str
    digest: str

    def __init__(self, algorithm: str, digest: str) -> None:
        expected = _DIGEST_LENGTH.get(algorithm)
        if expected is None:
            raise ManifestError(
                f"unknown hash algorithm {algorithm!r}",
                f"this mlv knows: {', '.join(sorted(_DIGEST_LENGTH))}; is a newer mlv needed?",
            )
        if len(digest) != expected or not _HEX.issuperset(digest):
            raise ManifestError(f"malformed {algorithm} digest {digest!r}")
        object.__setattr__(self, "algorithm", algorithm)
        object.__setattr__(self, "digest", digest)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ObjectId is immutable")

    @classmethod
    def parse(cls, text: str) -> ObjectId:
        algorithm, sep, digest = text.partition(":")
        if not sep:
            raise ManifestError(
                f"malformed object id {text!r}", "ids look like xxh128:<32 hex digits>"
            )
        return cls(algorithm, digest)

    @classmethod
    def xxh128(cls, digest: str) -> ObjectId:
        return cls(ALGORITHM, digest)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.digest}"

    def __repr__(self) -> str:
        return f"ObjectId({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ObjectId)
            and self.digest == other.digest
            and self.algorithm == other.algorithm
        )

    def __lt__(self, other: ObjectId) -> bool:
        return (self.algorithm, self.digest) < (other.algorithm, other.digest)

    def __hash__(self) -> int:
        return hash((self.algorithm, self.digest))

    @property
    def short(self) -> str:
        return self.digest[:10]
