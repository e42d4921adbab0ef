"""What a restore installs, decided before any installer runs: a damaged record is refused, mlv
itself comes back as its writer record says (never an unrelated index package named mlv), the
project itself is code, and a requirements lockfile is used when it pins what was installed."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import mlv
from mlv.core.env.plan import plan_restore
from mlv.errors import UsageError
from mlv.model.environment import PythonRecord, SourceRecord
from mlv.model.manifest import Lock, WriterRecord
from mlv.storage.store import ObjectStore
from tests.core.env.test_diff import record


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(tmp_path / "cache")


def test_the_recorded_list_is_installed_pinned(store: ObjectStore) -> None:
    plan = plan_restore(Lock(environment=record(["b==2.0", "a==1.0"])), store)
    assert plan.requirements == ["a==1.0", "b==2.0"] and plan.no_deps
    assert plan.source == "the recorded package list" and plan.own == ""


def test_vcs_sources_are_installed_from_the_recorded_commit(store: ObjectStore) -> None:
    env = record(
        ["lib==0.3", "local==1.0", "app==0.1"],
        sources={
            "lib": SourceRecord("vcs", "https://git.example/lib.git", "git", "c" * 40),
            "local": SourceRecord("local", "file:///gone/local-1.0.whl"),
            "app": SourceRecord("project"),
        },
    )
    plan = plan_restore(Lock(environment=env), store)
    assert plan.requirements == [
        f"lib @ git+https://git.example/lib.git@{'c' * 40}",
        "local==1.0",  # a file on another machine: the same version from the index
    ]
    assert plan.project == ["app"]  # the project itself is code, not a package


@pytest.mark.parametrize(
    ("install", "expected"),
    [("index", "mlv-cli==0.1.0"), ("editable", None), ("local", None), ("source", None)],
)
def test_mlv_itself_comes_back_as_its_writer_record_says(
    store: ObjectStore, install: str, expected: str | None
) -> None:
    writer = WriterRecord("0.1.0", "mlv-cli", install)  # type: ignore[arg-type]
    for own in ("mlv-cli==0.1.0", "mlv==0.1.0"):  # the former name at 0.x is mlv itself too
        plan = plan_restore(Lock(environment=record(["a==1", own]), mlv=writer), store)
        assert "mlv==0.1.0" not in plan.requirements  # never the unrelated index project
        if expected is not None:
            assert plan.requirements == ["a==1", expected] and plan.own == expected
        else:  # from the running mlv: here an editable checkout, linked by a .pth file
            assert plan.requirements == ["a==1"]
            assert plan.own_link == Path(mlv.__file__).resolve().parent.parent
    # Without mlv in the record, mlv is not added.
    assert plan_restore(Lock(environment=record(["a==1"]), mlv=writer), store).own == ""


def test_the_unrelated_mlv_at_1_x_is_an_ordinary_package(store: ObjectStore) -> None:
    plan = plan_restore(Lock(environment=record(["mlv==1.3.10"])), store)
    assert plan.requirements == ["mlv==1.3.10"] and plan.own == ""


@pytest.mark.parametrize(
    ("packages", "python", "needle"),
    [
        (["x==1; touch /tmp/pwned"], "3.11.7", "not a name==version requirement"),
        (["$(reboot)==1"], "3.11.7", "not a name==version requirement"),
        (["ok==1 --index-url=http://evil"], "3.11.7", "not a name==version requirement"),
        (["ok"], "3.11.7", "not a name==version requirement"),
        (["ok==1"], "3.11; rm -rf ~", "not an interpreter version"),
    ],
)
def test_a_damaged_record_is_refused(
    store: ObjectStore, packages: list[str], python: str, needle: str
) -> None:
    env = record(packages, python=PythonRecord("CPython", python))
    with pytest.raises(UsageError, match=needle) as info:
        plan_restore(Lock(environment=env), store)
    assert info.value.exit_code == 2 and info.value.hint


def test_a_record_changed_after_mlv_wrote_it_is_refused(store: ObjectStore) -> None:
    env = msgspec.structs.replace(record(["a==1"]), packages=["a==2"])  # fingerprint of a==1
    with pytest.raises(UsageError, match="does not match its fingerprint"):
        plan_restore(Lock(environment=env), store)
    url = SourceRecord("vcs", "https://x.invalid/r.git;rm", "git", "a")
    with pytest.raises(UsageError, match="source URL"):
        plan_restore(Lock(environment=record(["r==1"], sources={"r": url})), store)


def test_a_requirements_lockfile_is_used_when_it_pins_what_was_installed(
    store: ObjectStore,
) -> None:
    good = store.add_bytes(b"a==1.0\nb==2.0  # via a\nmlv==0.1.0\n")
    env = record(["a==1.0", "b==2.0", "mlv==0.1.0"], lockfiles={"requirements.txt": good})
    plan = plan_restore(Lock(environment=env), store)
    assert plan.source == "lockfile requirements.txt"
    assert plan.requirements[:2] == ["a==1.0", "b==2.0"] and plan.no_deps
    assert "mlv==0.1.0" not in plan.requirements
    assert plan_restore(Lock(environment=env), store, from_record=True).no_deps

    partial = store.add_bytes(b"a==1.0\n")
    env = record(["a==1.0", "b==2.0"], lockfiles={"requirements.txt": partial})
    plan = plan_restore(Lock(environment=env), store)
    assert plan.requirements == ["a==1.0", "b==2.0"] and "does not list b" in plan.notes[0]

    stale = store.add_bytes(b"a==0.9\nb==2.0\n")
    env = record(["a==1.0", "b==2.0"], lockfiles={"requirements.txt": stale})
    plan = plan_restore(Lock(environment=env), store)
    assert plan.source == "the recorded package list"
    assert "pins other versions than were installed (a==0.9)" in plan.notes[0]


def test_a_lockfile_that_does_not_parse_is_a_clear_error(store: ObjectStore) -> None:
    bad = store.add_bytes(b"a==1.0\nthis is not a requirement\n")
    env = record(["a==1.0"], lockfiles={"requirements.txt": bad})
    with pytest.raises(UsageError, match=r"lockfile requirements.txt line 2") as info:
        plan_restore(Lock(environment=env), store)
    assert "--from-record" in (info.value.hint or "")
    assert plan_restore(Lock(environment=env), store, from_record=True).requirements == ["a==1.0"]


def test_no_environment_recorded(store: ObjectStore) -> None:
    with pytest.raises(UsageError, match="records no environment"):
        plan_restore(Lock(), store)


def test_installer_options_with_credentials_are_never_written_down() -> None:
    from mlv.core.env.restore import safe_options

    given = ["--index-url", "https://user:s3cret@pypi.example/simple", "--no-index"]
    written = safe_options(given)
    assert "s3cret" not in " ".join(written) and written[2] == "--no-index"
    assert "pypi.example/simple" in written[1]
