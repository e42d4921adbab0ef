import pytest

from mlv.errors import PathError
from mlv.model.paths import check_artifact_path, check_relpath, find_nested, is_within


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "", "a\\b", "C:/x", "C:", "a\x00b"],
)
def test_unsafe_paths_are_rejected(path: str) -> None:
    with pytest.raises(PathError):
        check_relpath(path)


@pytest.mark.parametrize("path", [".git/config", ".mlv/cache", "mlv.lock", "mlv.toml", ".GIT/x"])
def test_reserved_artifact_paths(path: str) -> None:
    with pytest.raises(PathError):
        check_artifact_path(path)


def test_plain_paths_pass() -> None:
    assert check_relpath("data/raw file ü.csv") == "data/raw file ü.csv"
    assert check_relpath("a:b/0:") == "a:b/0:"  # a colon is an ordinary POSIX character
    assert check_artifact_path("data/.hidden") == "data/.hidden"


def test_nesting() -> None:
    assert is_within("a/b", "a") and is_within("a", "a") and not is_within("ab", "a")
    assert find_nested(["a", "a-b", "a/b/c"]) == ("a", "a/b/c")
    assert find_nested(["a", "ab", "b/a"]) is None
