import pytest

from mlv.errors import PathError
from mlv.model.paths import (
    check_artifact_path,
    check_relpath,
    find_collision,
    find_nested,
    folded,
    is_within,
)


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


# Every spelling of ".git" that git itself refuses somewhere (CVE-2014-9390 and successors), at
# the top and deeper down: a .git below the work tree is a repository of its own, hooks included.
GIT_SPELLINGS = [
    ".git",
    ".GIT",
    ".Git",
    ".git.",
    ".git ",
    ".git. .",
    ".git::$INDEX_ALLOCATION",
    ".git:stream",
    "git~1",
    "GIT~1",
    "git~1.",
    ".g\u200cit",
    ".gi\u200dt",
    "\u200e.git",
    ".git\u200f",
    ".g\u202ait",
    ".g\u202bit",
    ".g\u202cit",
    ".g\u202dit",
    ".g\u202eit",
    ".g\u206ait",
    ".g\u206bit",
    ".g\u206cit",
    ".g\u206dit",
    ".g\u206eit",
    ".g\u206fit",
    "\ufeff.git",
    ".\u200cG\u200dI\ufeffT\u200e.",
]


@pytest.mark.parametrize("name", GIT_SPELLINGS)
@pytest.mark.parametrize("template", ["{}", "{}/hooks/post-checkout", "data/{}", "a/b/{}/config"])
def test_git_directories_are_refused_anywhere(name: str, template: str) -> None:
    path = template.format(name)
    with pytest.raises(PathError, match=r"\.git component"):
        check_relpath(path, what="tree entry")
    with pytest.raises(PathError):
        check_artifact_path(path)


@pytest.mark.parametrize(
    "path",
    [
        ".gitignore",
        ".gitattributes",
        "a/.github/workflows/ci.yml",
        "a/.gitkeep",
        "git",
        "data/git/x",
        "digit.csv",
        "git~2",
        "a/git~10",
        "repo.git/x",
        "a/.git-x",
        "a/x.git",
        "été/.gitkeep",
        "a\u200cb/c",
    ],
)
def test_names_that_only_look_like_git_pass(path: str) -> None:
    assert check_relpath(path) == path


def test_plain_paths_pass() -> None:
    assert check_relpath("data/raw file ü.csv") == "data/raw file ü.csv"
    assert check_relpath("a:b/0:") == "a:b/0:"  # a colon is an ordinary POSIX character
    assert check_artifact_path("data/.hidden") == "data/.hidden"


def test_nesting() -> None:
    assert is_within("a/b", "a") and is_within("a", "a") and not is_within("ab", "a")
    assert find_nested(["a", "a-b", "a/b/c"]) == ("a", "a/b/c")
    assert find_nested(["a", "ab", "b/a"]) is None


@pytest.mark.parametrize(
    ("paths", "pair"),
    [
        (["A.csv", "a.csv"], ("A.csv", "a.csv")),
        (["b", "README", "readme"], ("README", "readme")),
        (["\u00e9.csv", "e\u0301.csv"], ("e\u0301.csv", "\u00e9.csv")),  # NFC and NFD
        (["Data/x.csv", "data/y.csv"], ("Data", "data")),  # two directories that are one
        (["a", "A/b"], ("A", "a")),  # a file and a directory
        (["x/\u00c9t\u00e9/1", "x/e\u0301t\u00e9/2"], ("x/e\u0301t\u00e9", "x/\u00c9t\u00e9")),
        (["\u212a", "k"], ("k", "\u212a")),  # KELVIN SIGN folds to k
        (["STRASSE", "stra\u00dfe"], ("STRASSE", "stra\u00dfe")),
    ],
)
def test_collisions_on_case_insensitive_file_systems(
    paths: list[str], pair: tuple[str, str]
) -> None:
    assert find_collision(paths) == pair


def test_no_collision_among_distinct_names() -> None:
    assert find_collision(["a/b", "a/c", "b", "a/b/c", "\u00e9", "e"]) is None
    assert find_collision([]) is None
    assert folded("Ab/\u00c9") == folded("aB/e\u0301") == "ab/\u00e9"
