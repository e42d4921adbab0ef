import pytest

from mlv.errors import ManifestError
from mlv.model.ids import ObjectId


def test_round_trip_and_equality() -> None:
    oid = ObjectId.parse("xxh128:" + "ab" * 16)
    assert str(oid) == "xxh128:" + "ab" * 16
    assert (oid.algorithm, oid.digest) == ("xxh128", "ab" * 16)
    assert oid == ObjectId.xxh128("ab" * 16)
    assert hash(oid) == hash(ObjectId.xxh128("ab" * 16))
    assert oid.short == "abababab" + "ab"
    assert type(str(oid)) is str


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ab" * 16,
        "xxh128:" + "ab" * 15,
        "xxh128:" + "AB" * 16,
        "md5:" + "ab" * 16,
        "xxh128:" + "zz" * 16,
        "xxh128:" + "ab" * 17,
        "sha256:" + "ab" * 32,  # an algorithm this mlv does not know
        "sha256:" + "ab" * 16,
        "XXH128:" + "ab" * 16,
        "xxh128:" + "ab" * 16 + "\n",
        " xxh128:" + "ab" * 16,
        "xxh128::" + "ab" * 16,
        "xxh128:" + "\uff10" * 32,  # FULLWIDTH DIGIT ZERO
        "xxh128:" + "\u0660" * 32,  # ARABIC-INDIC DIGIT ZERO
        "xxh128:" + "ab" * 15 + "a/",
        "xxh128:../" + "a" * 29,
        "xxh128",
        ":",
    ],
)
def test_malformed_ids_are_rejected(text: str) -> None:
    with pytest.raises(ManifestError):
        ObjectId.parse(text)
