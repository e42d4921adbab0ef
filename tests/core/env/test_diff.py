"""diff_environments: packages by version order, sources, lockfile pins, variables, conda, CUDA;
and the drift summary status and reproduce show."""

from __future__ import annotations

import msgspec
import pytest

from mlv.core.env.capture import fingerprint
from mlv.core.env.diff import diff_environments
from mlv.core.env.drift import compare
from mlv.core.env.pins import exact_pins, parse_pins
from mlv.errors import UsageError
from mlv.model.environment import (
    CondaRecord,
    CudaRecord,
    EnvironmentRecord,
    PlatformRecord,
    PythonRecord,
    SourceRecord,
)
from mlv.model.ids import ObjectId
from mlv.storage.hashing import hash_bytes


def record(packages: list[str], **fields: object) -> EnvironmentRecord:
    base = EnvironmentRecord(
        fingerprint=ObjectId.xxh128("0" * 32),
        python=PythonRecord("CPython", "3.11.7"),
        platform=PlatformRecord("linux", "x86_64", "6.1"),
        packages=packages,
    )
    base = msgspec.structs.replace(base, **fields)
    return msgspec.structs.replace(base, fingerprint=fingerprint(base))


def test_versions_are_ordered_by_pep_440_not_as_text() -> None:
    old = record(["a==1.9", "b==2.0", "c==1.0", "gone==1", "odd==abc", "spelt==1.0"])
    new = record(["a==1.10", "b==2.0rc1", "c==1.0", "new==3", "odd==abd", "spelt==1.0.0"])
    diff = diff_environments(old, new)
    assert [(c.name, c.old, c.new) for c in diff.upgraded] == [("a", "1.9", "1.10")]
    assert [(c.name, c.old, c.new) for c in diff.downgraded] == [("b", "2.0", "2.0rc1")]
    # 1.0 and 1.0.0 are equal under PEP 440: another spelling, neither up nor down.
    assert [c.name for c in diff.changed] == ["odd", "spelt"]
    assert [(c.name, c.new) for c in diff.added] == [("new", "3")]
    assert [(c.name, c.old) for c in diff.removed] == [("gone", "1")]
    assert not diff.same and diff.package_count == 6
    data = diff.to_dict()
    assert data["packages"]["upgraded"] == [{"name": "a", "old": "1.9", "new": "1.10"}]
    drift = compare(old, new)
    assert drift.upgraded == 1 and drift.downgraded == 1
    assert "1 package(s) upgraded" in drift.summary()
    assert drift.to_dict()["packages_changed"][0] == {
        "name": "a",
        "recorded": "1.9",
        "current": "1.10",
    }


def test_same_environment_and_kernel_release_only() -> None:
    old = record(["a==1"])
    new = msgspec.structs.replace(old, platform=PlatformRecord("linux", "x86_64", "6.2"))
    diff = diff_environments(old, new)
    assert diff.same and diff.release is not None and diff.python is None
    assert fingerprint(old) == fingerprint(new)  # the kernel release is not the environment


def test_interpreter_platform_variables_sources_conda_cuda() -> None:
    old = record(
        ["a==1", "b==1"],
        variables={"SEED": "1"},
        sources={"b": SourceRecord("vcs", "https://x.invalid/b.git", "git", "aaaa")},
        conda=CondaRecord("ml", ["numpy==1.26", "python==3.11.7"]),
        cuda=CudaRecord(driver="535.1", cuda="12.1", torch="2.3.0+cu121"),
    )
    new = record(
        ["a==1", "b==1"],
        python=PythonRecord("CPython", "3.12.1"),
        platform=PlatformRecord("darwin", "arm64", "23"),
        variables={"SEED": "2", "NEW": "x"},
        sources={"b": SourceRecord("vcs", "https://x.invalid/b.git", "git", "bbbb")},
        conda=CondaRecord("ml2", ["numpy==2.0", "python==3.11.7"]),
        cuda=CudaRecord(driver="550.2", cuda="12.4", torch="2.3.0+cu124"),
    )
    diff = diff_environments(old, new)
    assert diff.python is not None and diff.python.new == "CPython 3.12.1"
    assert diff.platform is not None and diff.platform.old == "linux-x86_64"
    assert [(c.name, c.old, c.new) for c in diff.variables] == [
        ("NEW", None, "x"),
        ("SEED", "1", "2"),
    ]
    assert [c.name for c in diff.sources] == ["b"] and "@bbbb" in (diff.sources[0].new or "")
    assert [(c.name, c.old, c.new) for c in diff.conda] == [
        ("name", "ml", "ml2"),
        ("numpy", "1.26", "2.0"),
    ]
    assert {c.name for c in diff.cuda} == {"driver", "cuda", "torch"}


def test_lockfile_pins_are_compared_when_both_versions_can_be_read() -> None:
    texts = {
        "old": b"# pinned\nnumpy==1.26.4\npandas==2.1 \\\n    --hash=sha256:abc\nrequests>=2\n",
        "new": b"numpy==2.0.0\npandas==2.1\nscipy==1.13\n",
    }
    ids = {k: hash_bytes(v) for k, v in texts.items()}
    old = record([], lockfiles={"requirements.txt": ids["old"], "uv.lock": hash_bytes(b"1")})
    new = record([], lockfiles={"requirements.txt": ids["new"], "poetry.lock": hash_bytes(b"2")})
    by_id = {ids[k]: v for k, v in texts.items()}
    diff = diff_environments(old, new, read=by_id.get)
    statuses = {c.name: c.status for c in diff.lockfiles}
    assert statuses == {
        "poetry.lock": "added",
        "requirements.txt": "modified",
        "uv.lock": "removed",
    }
    pins = next(c for c in diff.lockfiles if c.name == "requirements.txt").pins
    assert pins is not None
    assert [(p.name, p.old, p.new) for p in pins] == [
        ("numpy", "==1.26.4", "==2.0.0"),
        ("requests", ">=2", None),
        ("scipy", None, "==1.13"),
    ]
    # Without a reader the file is modified, its pins unknown.
    assert diff_environments(old, new).lockfiles[1].pins is None


@pytest.mark.parametrize("line", ["numpy = = 1", "$(rm -rf /)", "pkg==1 extra", "a b"])
def test_a_requirements_line_that_does_not_parse_is_named(line: str) -> None:
    with pytest.raises(UsageError, match="line 2"):
        parse_pins(f"ok==1\n{line}\n", "requirements.txt")


def test_exact_pins() -> None:
    assert exact_pins(parse_pins("a==1\nb[x]==2 ; python_version>'3'\n-r other.txt\n", "r"))
    assert not exact_pins(parse_pins("a==1\nb>=2\n", "r"))
    assert not exact_pins(parse_pins("a==1.*\n", "r"))
    assert not exact_pins({})
