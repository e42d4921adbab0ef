"""``mlv.lock``: the lineage manifest, its schema and its canonical encoding.

The file is JSON with sorted keys and two-space indentation, one fact per line, so ``git diff``
reads well and the same content always encodes to the same bytes. It is validated on load: an
unknown or newer schema, a malformed id or a path that leaves the repository is a ManifestError.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from mlv.errors import ManifestError, MlvError
from mlv.model.distribution import DISTRIBUTION
from mlv.model.environment import EnvironmentRecord as EnvironmentRecord  # re-exported
from mlv.model.environment import PlatformRecord as PlatformRecord  # re-exported
from mlv.model.environment import PythonRecord as PythonRecord  # re-exported
from mlv.model.ids import ObjectId
from mlv.model.paths import (
    check_artifact_path,
    check_relpath,
    find_collision,
    find_nested,
    is_within,
    same_file_message,
)
from mlv.model.tree import MAX_SIZE

SCHEMA_VERSION = 1
# Version 2 adds one thing, the stale mark of a stage record. A manifest is written with the
# lowest version that holds its content, so one without marks stays byte-identical to what
# earlier versions wrote, and an mlv that predates marks says "upgrade mlv" for one with them
# instead of calling it malformed.
STALE_MARK_VERSION = 2
# Version 3 adds two things: the record of the mlv that wrote the manifest (``mlv``), which every
# manifest mlv writes from then on carries, and table summaries (``tables``), present only when a
# manifest names a table. An mlv reads every version up to its own; a newer one is an error that
# names the mlv which wrote it (docs/concepts.md, "Schema versions").
WRITER_VERSION = 3
# Version 4 adds the details of the environment record: where distributions came from
# (``sources``), the conda environment (``conda``) and the GPU stack (``cuda``), each present only
# when there is something to say (mlv.model.environment).
ENV_DETAIL_VERSION = 4
READABLE_VERSIONS = (SCHEMA_VERSION, STALE_MARK_VERSION, WRITER_VERSION, ENV_DETAIL_VERSION)
LOCK_FILE = "mlv.lock"
# The largest mlv.lock mlv reads. It lists artifacts, not the files of directories (those are
# in tree objects), so real manifests are kilobytes; a stage record per file of 10^6 files
# would still fit. Anything larger is refused before it is read into memory.
MAX_LOCK_BYTES = 256 * 1024 * 1024
_RESTORE_HINT = "restore it from git (`git checkout -- mlv.lock`) or rewrite it with `mlv snapshot`"

Kind = Literal["data", "features", "model", "env", "metrics", "other"]
# How the mlv that wrote a manifest was installed: from a package index, editable from a source
# tree, from a local wheel or directory, from a version-control URL, or not installed at all
# (imported from a source tree on the path). Only "index" can be installed again by name.
Install = Literal["index", "editable", "local", "vcs", "source"]
KINDS: tuple[str, ...] = ("data", "features", "model", "env", "metrics", "other")


class ArtifactRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A tracked path as snapshotted: a file object or a tree object."""

    kind: Kind
    type: Literal["file", "dir"]
    id: ObjectId
    size: int
    files: int
    executable: bool = False


class CodeRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The code state: base commit, git tree of the tracked code, and the patch between them.

    ``patch`` turns ``commit`` into ``tree`` (staged changes that went into the snapshot commit,
    and uncommitted ones); ``dirty`` says some of it was never committed.
    """

    commit: str | None
    tree: str
    patch: ObjectId | None = None
    dirty: bool = False


class StageRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One executed pipeline stage (filled by ``mlv run``).

    ``stale`` (absent unless set) says why the record no longer describes the artifacts of the
    manifest that holds it: ``mlv snapshot`` recorded outputs edited by hand, or inputs the
    stage has not run on, and kept the record of the run that did happen.
    """

    cmd: str
    deps: dict[str, ObjectId]
    outs: dict[str, ObjectId]
    params: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    started: str = ""
    duration: float = 0.0
    exit_status: int = 0
    env_fingerprint: ObjectId | None = None
    stale: list[str] | msgspec.UnsetType = msgspec.UNSET  # UNSET: never encoded

    @property
    def stale_reasons(self) -> list[str]:
        return [] if isinstance(self.stale, msgspec.UnsetType) else self.stale


class WriterRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The mlv that wrote the manifest: its version, distribution name and how it was installed."""

    version: str
    distribution: str
    install: Install


class TableRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The summary of one tabular file (an artifact, or a file inside a tracked directory):
    ``file`` is the id of its content, ``summary`` the summary object (mlv.model.summary)."""

    file: ObjectId
    summary: ObjectId


class Lock(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole manifest of one snapshot."""

    schema: int = SCHEMA_VERSION
    artifacts: dict[str, ArtifactRecord] = {}
    stages: dict[str, StageRecord] = {}
    environment: EnvironmentRecord | None = None
    code: CodeRecord | None = None
    mlv: WriterRecord | msgspec.UnsetType = msgspec.UNSET  # UNSET: before schema 3
    tables: dict[str, TableRecord] | msgspec.UnsetType = msgspec.UNSET  # UNSET: none

    @property
    def writer(self) -> WriterRecord | None:
        return None if isinstance(self.mlv, msgspec.UnsetType) else self.mlv

    @property
    def table_records(self) -> dict[str, TableRecord]:
        return {} if isinstance(self.tables, msgspec.UnsetType) else self.tables

    def encode(self) -> bytes:
        return encode_lock(self)

    def object_ids(self) -> set[ObjectId]:
        """Every object this manifest names directly (tree children are named by their trees)."""
        ids = {a.id for a in self.artifacts.values()}
        if self.environment is not None:
            ids.update(self.environment.lockfiles.values())
        if self.code is not None and self.code.patch is not None:
            ids.add(self.code.patch)
        for stage in self.stages.values():
            ids.update(stage.outs.values())
        ids.update(t.summary for t in self.table_records.values())
        return ids


class _SchemaProbe(msgspec.Struct):
    schema: int
    mlv: Any = None  # read leniently: a newer manifest names the mlv that wrote it


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, ObjectId):
        return str(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def _dec_hook(kind: type, obj: Any) -> Any:
    if kind is ObjectId:
        if isinstance(obj, str):
            return ObjectId.parse(obj)
        # msgspec turns a TypeError into a ValidationError that names where it happened.
        raise TypeError(f"Expected an object id (a string), got `{type(obj).__name__}`")
    raise NotImplementedError(f"cannot decode {kind.__name__}")


# What malformed bytes may raise: invalid UTF-8 inside a string surfaces as UnicodeDecodeError,
# and nesting thousands of arrays deep (in params or metrics) as RecursionError.
_DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError)
_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, order="sorted")
_DECODER = msgspec.json.Decoder(type=Lock, dec_hook=_dec_hook)


def required_schema(lock: Lock) -> int:
    """The lowest schema version that holds everything in ``lock``."""
    if lock.environment is not None and lock.environment.has_details:
        return ENV_DETAIL_VERSION
    if lock.writer is not None or lock.table_records:
        return WRITER_VERSION
    marked = any(s.stale_reasons for s in lock.stages.values())
    return STALE_MARK_VERSION if marked else SCHEMA_VERSION


def canonical_lock(lock: Lock) -> Lock:
    """``lock`` as it is written: the schema version its content needs, empty optional
    sections left out. Decoding ``encode_lock(lock)`` gives this back."""
    schema = required_schema(lock)
    if not lock.table_records and not isinstance(lock.tables, msgspec.UnsetType):
        lock = msgspec.structs.replace(lock, tables=msgspec.UNSET)  # none: never encoded
    env = lock.environment
    if env is not None and not isinstance(env.sources, msgspec.UnsetType) and not env.sources:
        lock = msgspec.structs.replace(
            lock, environment=msgspec.structs.replace(env, sources=msgspec.UNSET)
        )
    if lock.schema != schema:
        lock = msgspec.structs.replace(lock, schema=schema)
    return lock


def encode_lock(lock: Lock) -> bytes:
    """The canonical bytes of a manifest: sorted keys, two-space indent, trailing newline."""
    return msgspec.json.format(_ENCODER.encode(canonical_lock(lock)), indent=2) + b"\n"


def check_lock_size(size: int, source: str = LOCK_FILE) -> None:
    """ManifestError when a manifest of ``size`` bytes is too large to be one mlv wrote."""
    if size > MAX_LOCK_BYTES:
        raise ManifestError(
            f"{source} is {size:,} bytes, more than the {MAX_LOCK_BYTES:,} mlv reads",
            f"it is not a manifest mlv wrote: {_RESTORE_HINT}",
        )


def decode_lock(data: bytes, *, source: str = LOCK_FILE) -> Lock:
    """Parse and validate manifest bytes; any defect is a ManifestError naming ``source``."""
    check_lock_size(len(data), source)
    try:
        probe = msgspec.json.decode(data, type=_SchemaProbe)
    except _DECODE_ERRORS as exc:
        raise ManifestError(
            f"{source} is malformed: {exc}",
            _RESTORE_HINT,
        ) from None
    if probe.schema not in READABLE_VERSIONS:
        newer = probe.schema > max(READABLE_VERSIONS)
        writer = probe.mlv.get("version") if isinstance(probe.mlv, dict) else None
        by = f" (written by mlv {writer})" if isinstance(writer, str) and writer else ""
        raise ManifestError(
            f"{source} has schema version {probe.schema}{by}; this mlv reads versions"
            f" {', '.join(map(str, READABLE_VERSIONS[:-1]))} and {READABLE_VERSIONS[-1]}",
            (f"upgrade mlv (pip install -U {DISTRIBUTION}, or the same in pipx or uv tool)")
            if newer
            else "the file is not an mlv manifest this mlv understands",
        )
    try:
        lock = _DECODER.decode(data)
    except _DECODE_ERRORS as exc:
        raise ManifestError(
            f"{source} is malformed: {exc}",
            _RESTORE_HINT,
        ) from None
    except MlvError as exc:
        raise ManifestError(f"{source} is malformed: {exc.message}", exc.hint) from None
    _validate(lock, source)
    return lock


def _validate(lock: Lock, source: str) -> None:
    try:
        for path, record in lock.artifacts.items():
            check_artifact_path(path)
            if not (0 <= record.size <= MAX_SIZE and 0 <= record.files <= MAX_SIZE):
                raise ManifestError(f"artifact {path!r} has an impossible size or file count")
        nested = find_nested(list(lock.artifacts))
        if nested is not None:
            raise ManifestError(f"artifact {nested[1]!r} lies inside artifact {nested[0]!r}")
        collision = find_collision(lock.artifacts)
        if collision is not None:
            raise ManifestError(same_file_message("artifacts", collision))
        if lock.writer is not None and lock.schema < WRITER_VERSION:
            raise ManifestError(
                f"it names the mlv that wrote it, which schema version {lock.schema} cannot say"
            )
        if lock.environment is not None:
            for path in lock.environment.lockfiles:
                check_relpath(path, what="lockfile path")
            if lock.environment.has_details and lock.schema < ENV_DETAIL_VERSION:
                raise ManifestError(
                    "its environment record names package sources, conda or CUDA details,"
                    f" which schema version {lock.schema} cannot say"
                )
        if not isinstance(lock.tables, msgspec.UnsetType):
            if lock.schema < WRITER_VERSION:
                raise ManifestError(
                    f"table summaries need schema version {WRITER_VERSION}, not {lock.schema}"
                )
            for path in lock.tables:
                check_relpath(path, what="table path")
                if not any(is_within(path, a) for a in lock.artifacts):
                    raise ManifestError(f"table {path!r} lies in no artifact")
        for name, stage in lock.stages.items():
            for path in [*stage.deps, *stage.outs]:
                check_relpath(path, what="stage path")
            if not isinstance(stage.stale, msgspec.UnsetType):
                if lock.schema < STALE_MARK_VERSION:
                    raise ManifestError(
                        f"stage {name!r} is marked stale, which schema version {lock.schema}"
                        " cannot say"
                    )
                if not stage.stale:
                    raise ManifestError(f"stage {name!r} is marked stale without a reason")
    except MlvError as exc:
        raise ManifestError(
            f"{source} is malformed: {exc.message}",
            _RESTORE_HINT,
        ) from None


def index_requirement(writer: WriterRecord | None) -> str | None:
    """What to install from a package index to get the mlv of ``writer`` back.

    None when that mlv did not come from an index (editable, a local wheel or directory, a VCS
    URL, a source tree) or is not known: a restore then takes mlv from the run's code or from
    the running mlv, never an index package of the same name, which may be another project.
    """
    if writer is None or writer.install != "index" or writer.distribution != DISTRIBUTION:
        return None
    return f"{DISTRIBUTION}=={writer.version}"
