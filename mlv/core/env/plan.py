"""What a restore installs, decided from the record before anything runs: the recorded
distributions pinned exactly (or a usable requirements lockfile), mlv itself as its writer record
says, and the project's own code left to the run's code. A record that does not hold what mlv
wrote (a bad name, version, URL or fingerprint) is refused here, before any installer starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mlv.core.env.capture import fingerprint
from mlv.core.env.interpreters import check_version
from mlv.core.env.pins import exact_pins, is_requirements, parse_pins
from mlv.core.installation import running_requirement
from mlv.errors import UsageError, listing
from mlv.model.distribution import index_requirement, is_own_package
from mlv.model.environment import NAME, VERSION, EnvironmentRecord, SourceRecord, normalise
from mlv.model.manifest import Lock
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
    own_link: Path | None = None  # the running mlv's source tree, linked by a .pth file
    project: list[str] = field(default_factory=list)  # the project itself: code, not a package
    notes: list[str] = field(default_factory=list)


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


def _lockfile(
    record: EnvironmentRecord, store: ObjectStore, skip: set[str]
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
    pins = parse_pins(store.read_bytes(oid).decode(errors="replace"), f"lockfile {name}")
    pins = {n: spec for n, spec in pins.items() if n not in skip}
    versions = record.versions()
    stale = [
        f"{n}{s}" for n, s in sorted(pins.items()) if n in versions and s != f"=={versions[n]}"
    ]
    if stale:
        return [], f"lockfile {name} pins other versions than were installed ({listing(stale)})"
    if not exact_pins(pins):
        return [], f"lockfile {name} does not pin every requirement to one version"
    return [f"{n}{s}" for n, s in sorted(pins.items())], name


def plan_restore(lock: Lock, store: ObjectStore, *, from_record: bool = False) -> RestorePlan:
    """What to install to get ``lock``'s environment back (refusing a damaged record)."""
    record = lock.environment
    if record is None:
        raise UsageError(
            "this snapshot records no environment", "take a snapshot with `mlv snapshot`"
        )
    check_record(record)
    sources = record.package_sources
    project = sorted(n for n, s in sources.items() if s.kind == "project")
    own_entries = [p for p in record.packages if is_own_package(p)]
    skip = {normalise(p.partition("==")[0]) for p in own_entries} | set(project)
    notes: list[str] = []
    pinned, used = ([], "") if from_record else _lockfile(record, store, skip)
    if used and not pinned:  # a lockfile that cannot serve: say why, install the record
        notes.append(f"{used}; installed the recorded package list instead")
        used = ""
    if not pinned:
        pinned = [
            _requirement(name, version, sources.get(name))
            for name, version in sorted(record.versions().items())
            if name not in skip
        ]
    own, link = "", None
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
        no_deps=not used,
        own=own,
        own_link=link,
        project=project,
        notes=notes,
    )
