"""What a restore installs, decided from the record before anything runs: the recorded
distributions pinned exactly (or a usable requirements lockfile), mlv itself as its writer record
says, and the project's own code left to the run's code. A record that does not hold what mlv
wrote (a bad name, version, URL or fingerprint) is refused here, before any installer starts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlv.core.env.capture import fingerprint
from mlv.core.env.interpreters import check_version
from mlv.core.env.pins import exact_pins, is_requirements, parse_pins
from mlv.core.installation import running_requirement
from mlv.errors import UsageError, listing
from mlv.model.distribution import is_own_package
from mlv.model.environment import NAME, VERSION, EnvironmentRecord, SourceRecord, normalise
from mlv.model.manifest import Lock, index_requirement
from mlv.storage.store import ObjectStore

_DAMAGED = (
    "the record was edited or damaged: restore mlv.lock from git (`git checkout REV -- mlv.lock`"
    " shows the original), or record the environment again with `mlv snapshot`"
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"`;|&$<>\\]+$")
_COMMIT = re.compile(r"^[0-9A-Za-z._/-]{1,100}$")


@dataclass(frozen=True, slots=True)
class RestorePlan:
    record: EnvironmentRecord
    requirements: list[str]  # one requirement a line, as the installer reads them
    source: str  # "the recorded package list" or "lockfile NAME"
    no_deps: bool  # the requirements are the whole environment: nothing to resolve
    own: str = ""  # how mlv itself is put back ("" when the record does not list it)
    own_requirement: str | None = None  # what to install for it (None: linked, or not listed)
    own_link: Path | None = None  # the running mlv's source tree, linked by a .pth file
    project: list[str] = field(default_factory=list)  # the project itself: code, not a package
    notes: list[str] = field(default_factory=list)
    # uv.lock and pyproject.toml of the revision: with uv as installer, uv's export of them is
    # installed when it pins exactly what was recorded (else ``requirements``).
    uv_project: dict[str, bytes] | None = None
    skip: frozenset[str] = frozenset()  # mlv itself and the project: never from a lockfile

    def lockfile_pins(self, text: str, name: str) -> tuple[list[str], str]:
        """The lines of a requirements-style ``text`` to install, or [] and why it cannot
        serve: every recorded package pinned to its recorded version, nothing unpinned."""
        return usable_pins(self.record, text, name, self.skip)


def _damaged(what: str) -> UsageError:
    return UsageError(f"the environment record {what}", _DAMAGED)


def check_record(record: EnvironmentRecord) -> None:
    """Refuse a record mlv cannot have written: every name, version, URL must be well-formed
    and the fingerprint must match the content (so a cached environment is never reused for a
    different record)."""
    check_version(record.python)
    for entry in record.packages:
        name, sep, version = entry.partition("==")
        if not sep or not NAME.match(name) or not VERSION.match(version):
            raise _damaged(f"lists {entry[:80]!r}, which is not a name==version requirement")
    for name, source in record.package_sources.items():
        if not NAME.match(name):
            raise _damaged(f"names a package source for {name[:80]!r}, not a package name")
        if source.url and not _URL.match(source.url):
            raise _damaged(f"gives {name} the source URL {source.url[:80]!r}")
        if source.commit and not _COMMIT.match(source.commit):
            raise _damaged(f"gives {name} the commit {source.commit[:80]!r}")
        if source.vcs and not NAME.match(source.vcs):
            raise _damaged(f"gives {name} the version control tool {source.vcs[:40]!r}")
    if fingerprint(record) != record.fingerprint:
        raise _damaged(
            "does not match its fingerprint (its content was changed after mlv wrote it)"
        )


def _requirement(name: str, version: str, source: SourceRecord | None) -> str:
    if source is None or source.kind in ("local", "editable"):
        # A wheel or tree on another machine's disk: the same version from the index (or from
        # --find-links) is the reproducible choice.
        return f"{name}=={version}"
    if source.kind == "vcs" and source.url and source.commit and "***" not in source.url:
        return f"{name} @ {source.vcs or 'git'}+{source.url}@{source.commit}"
    if source.kind == "url" and source.url and "***" not in source.url:
        return f"{name} @ {source.url}"
    return f"{name}=={version}"


def usable_pins(
    record: EnvironmentRecord, text: str, name: str, skip: frozenset[str]
) -> tuple[list[str], str]:
    """The requirement lines of lockfile ``text`` (mlv itself and the project left out), or []
    and why not: a lockfile serves only if it pins exactly the recorded versions of every
    recorded package (a lockfile of another state, or of part of the environment, would not
    rebuild the recorded one). A line that does not parse is a UsageError."""
    pins = {n: s for n, s in parse_pins(text, f"lockfile {name}").items() if n not in skip}
    versions = {n: v for n, v in record.versions().items() if n not in skip}
    other = [
        f"{n}{s}" for n, s in sorted(pins.items()) if n in versions and s != f"=={versions[n]}"
    ]
    if other:
        return [], f"lockfile {name} pins other versions than were installed ({listing(other)})"
    if not exact_pins(pins):
        return [], f"lockfile {name} does not pin every requirement to one version"
    absent = sorted(versions.keys() - pins.keys())
    if absent:
        return [], f"lockfile {name} does not list {listing(absent)}, which were installed"
    return [f"{n}{s}" for n, s in sorted(pins.items())], ""


def _lockfile(
    record: EnvironmentRecord, store: ObjectStore, skip: frozenset[str]
) -> tuple[list[str], str]:
    """The pins of a usable requirements lockfile and its name, or [] and why it was not used."""
    names = sorted(n for n in record.lockfiles if is_requirements(n))
    names.sort(key=lambda n: n != "requirements.txt")
    if not names:
        return [], ""
    name = names[0]
    oid = record.lockfiles[name]
    if not store.exists(oid):
        return [], f"lockfile {name} is not in the store"
    pins, why = usable_pins(record, store.read_bytes(oid).decode(errors="replace"), name, skip)
    return pins, why or name


def plan_restore(
    lock: Lock,
    store: ObjectStore,
    *,
    from_record: bool = False,
    read_code: Callable[[str], bytes | None] | None = None,
) -> RestorePlan:
    """What to install to get ``lock``'s environment back (refusing a damaged record);
    ``read_code`` reads a file of the revision's code (for a uv.lock's pyproject.toml)."""
    record = lock.environment
    if record is None:
        raise UsageError(
            "this snapshot records no environment", "take a snapshot with `mlv snapshot`"
        )
    check_record(record)
    sources = record.package_sources
    project = sorted(n for n, s in sources.items() if s.kind == "project")
    own_entries = [p for p in record.packages if is_own_package(p)]
    skip = frozenset({normalise(p.partition("==")[0]) for p in own_entries} | set(project))
    notes: list[str] = []
    pinned, used = ([], "") if from_record else _lockfile(record, store, skip)
    if used and not pinned:  # a lockfile that cannot serve: say why, install the record
        notes.append(f"{used}; installed the recorded package list instead")
        used = ""
    uv_project = None
    if not pinned and not from_record and read_code is not None:
        uv_project = _uv_project(record, store, read_code)
    if not pinned:
        pinned = [
            _requirement(name, version, sources.get(name))
            for name, version in sorted(record.versions().items())
            if name not in skip
        ]
    own, link, wanted = "", None, None
    if own_entries:
        wanted = index_requirement(lock.writer)
        if wanted is None:
            wanted, link = running_requirement()
            own = f"the running mlv ({link or wanted})"
        else:
            own = wanted
        if wanted:
            pinned.append(wanted)
    return RestorePlan(
        record=record,
        requirements=pinned,
        source=f"lockfile {used}" if used else "the recorded package list",
        no_deps=True,  # a lockfile serves only when it lists the whole environment
        own=own,
        own_requirement=wanted if own_entries else None,
        own_link=link,
        project=project,
        notes=notes,
        uv_project=uv_project,
        skip=skip,
    )


def _uv_project(
    record: EnvironmentRecord, store: ObjectStore, read_code: Callable[[str], bytes | None]
) -> dict[str, bytes] | None:
    oid = record.lockfiles.get("uv.lock")
    if oid is None or not store.exists(oid):
        return None
    pyproject = read_code("pyproject.toml")
    if pyproject is None:
        return None
    return {"uv.lock": store.read_bytes(oid), "pyproject.toml": pyproject}
