"""Reading a DVC project through DVC's own library (``pip install 'mlv-cli[dvc]'``).

DVC is imported here only, and only when ``mlv import-dvc`` runs. What comes out is plain data:
the stages of ``.dvc`` files and ``dvc.yaml`` with the hashes ``dvc.lock`` recorded, what DVC
itself reports as changed, and what has no mlv equivalent. Nothing is written to the project
(DVC keeps its own scratch files in ``.dvc/tmp``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlv.errors import UsageError


@dataclass(frozen=True, slots=True)
class DvcOut:
    """An output as DVC recorded it; ``md5`` ends in ``.dir`` for a directory."""

    path: str  # relative to the repository root, POSIX; absolute when outside it
    md5: str | None  # None: DVC never computed it (no dvc.lock entry)
    legacy: bool  # DVC 2's md5 of text with CRLF turned to LF
    cache_root: Path  # where DVC keeps objects of this hash: <root>/<md5[:2]>/<md5[2:]>
    cached: bool  # False for `cache: false`
    metric: bool
    plot: bool
    in_repo: bool

    @property
    def is_dir(self) -> bool:
        return self.md5 is not None and self.md5.endswith(".dir")

    def cache_path(self, md5: str) -> Path:
        return self.cache_root / md5[:2] / md5[2:]


@dataclass(frozen=True, slots=True)
class DvcParams:
    file: str  # relative to the repository root
    keys: tuple[str, ...]  # () for every key of the file


@dataclass
class DvcStage:
    name: str  # DVC's address from the root: `train`, `data/raw.dvc`, `sub/dvc.yaml:copy`
    source: str  # the file that declares it: dvc.yaml or a .dvc file
    cmd: str | None
    wdir: str  # relative to the repository root; "" for the root
    deps: list[str]
    params: list[DvcParams]
    outs: list[DvcOut]
    data_source: bool  # a .dvc file of `dvc add` (no command)
    frozen: bool
    problems: list[str] = field(default_factory=list)  # why it cannot be mapped


@dataclass
class DvcProject:
    root: Path
    stages: list[DvcStage]
    changed: dict[str, str]  # stage -> what `dvc status` says changed
    unmapped: list[tuple[str, str]]  # (what, why): plots, remotes


# Keys of a DVC remote that carry a secret or point to one (dvc remote modify --local ...).
CREDENTIAL_KEYS = frozenset(
    {
        "access_key_id",
        "secret_access_key",
        "session_token",
        "password",
        "ask_password",
        "key_file",
        "keyfile",
        "credentialpath",
        "gdrive_client_secret",
        "gdrive_service_account_json_file_path",
        "account_key",
        "sas_token",
        "connection_string",
        "client_secret",
        "token",
        "profile",
    }
)


def _relative(root: Path, fs_path: str) -> str:
    rel = os.path.relpath(fs_path, root)
    return Path(rel).as_posix() if not rel.startswith("..") else fs_path


@contextmanager
def _dvc_errors() -> Iterator[None]:
    from dvc.exceptions import DvcException

    try:
        yield
    except DvcException as exc:
        text = " ".join(str(exc).split())
        raise UsageError(
            f"the DVC project cannot be read: {text}",
            "fix it so `dvc status` works (restore dvc.yaml/dvc.lock from git), then run again",
        ) from None


def read_project(root: Path) -> DvcProject:
    """The DVC project at ``root``: stages, hashes, DVC's own status, and what mlv cannot map."""
    try:
        from dvc.repo import Repo
    except ImportError:
        raise UsageError(
            "mlv import-dvc needs DVC's library",
            "pip install 'mlv-cli[dvc]' (or pip install dvc) into the environment mlv runs in",
        ) from None
    if not (root / ".dvc").is_dir():
        raise UsageError(
            f"{root} is not a DVC project (there is no .dvc directory)",
            "run mlv import-dvc at the root of the git repository that holds DVC's files",
        )
    with _dvc_errors():
        repo = Repo(os.fspath(root))
        try:
            stages = [_stage(root, repo, s) for s in repo.index.stages]
            changed = {
                _address(s): _describe(info)
                for s in repo.index.stages
                if s.cmd and (info := _changes(s))
            }
            unmapped = list(_plots(repo, root)) + list(_remotes(repo)) + list(_links(repo))
        finally:
            repo.close()
    return DvcProject(root, sorted(stages, key=lambda s: s.name), changed, unmapped)


def _stage(root: Path, repo: Any, stage: Any) -> DvcStage:
    from dvc.dependency.param import ParamsDependency
    from dvc.stage import PipelineStage

    pipeline = isinstance(stage, PipelineStage)
    name = _address(stage)
    deps: list[str] = []
    params: list[DvcParams] = []
    problems: list[str] = []
    for dep in stage.deps:
        if isinstance(dep, ParamsDependency):
            params.append(DvcParams(_relative(root, dep.fs_path), tuple(dep.params or ())))
        elif not dep.is_in_repo:
            problems.append(f"dependency {dep.def_path} is outside the repository")
        else:
            deps.append(_relative(root, dep.fs_path))
    outs = []
    for out in stage.outs:
        legacy = out.hash_name == "md5-dos2unix"
        cache = repo.cache.legacy if legacy else repo.cache.local
        md5 = out.hash_info.value if out.hash_info else None
        outs.append(
            DvcOut(
                _relative(root, out.fs_path),
                md5,
                legacy,
                Path(cache.path),
                bool(out.use_cache),
                bool(out.metric),
                bool(out.plot),
                bool(out.is_in_repo),
            )
        )
        if not out.is_in_repo:
            problems.append(f"output {out.def_path} is outside the repository (external output)")
    if pipeline and "@" in stage.name:
        group = stage.name.split("@", 1)[0]
        raw = stage.dvcfile.contents.get("stages", {}).get(group, {})
        kind = "matrix" if "matrix" in raw else "foreach"
        problems.append(
            f"a {kind} stage (generated from {group!r}): mlv has no templated stages;"
            f" declare each one with `mlv stage add`"
        )
    if not pipeline and stage.deps:
        problems.append(
            "an import (`dvc import`/`import-url`): its source is not something mlv tracks;"
            " its data can be tracked as a plain artifact with `mlv track`"
        )
    cmd = stage.cmd
    if isinstance(cmd, list):
        cmd = " && ".join(cmd)
    wdir = _relative(root, stage.wdir)
    return DvcStage(
        name,
        _relative(root, stage.path),
        cmd,
        "" if wdir == "." else wdir,
        deps,
        params,
        outs,
        data_source=not pipeline and not stage.deps and not stage.cmd,
        frozen=bool(getattr(stage, "frozen", False)),
        problems=problems,
    )


def _address(stage: Any) -> str:
    """DVC's address of a stage as from the root of the repository, wherever mlv runs (DVC's own
    ``addressing`` is relative to the current directory: ``../dvc.yaml:prep`` from a subdirectory).
    """
    from dvc.stage import PipelineStage

    path = Path(os.path.relpath(stage.path, stage.repo.root_dir)).as_posix()
    if isinstance(stage, PipelineStage):
        return stage.name if path == "dvc.yaml" else f"{path}:{stage.name}"
    return path


def _changes(stage: Any) -> list[Any]:
    """What ``dvc status`` says of a stage, without its check of the cache: DVC deletes a cache
    file it finds corrupt, and mlv reports one instead (and never changes DVC's files)."""
    found: list[Any] = []
    deps: dict[str, str] = {}
    if not stage.frozen:
        for dep in stage.deps:
            deps.update(dep.status())
    if deps:
        found.append({"changed deps": deps})
    outs: dict[str, str] = {}
    for out in stage.outs:
        outs.update(out.workspace_status())
    if outs:
        found.append({"changed outs": outs})
    if stage.changed_stage():
        found.append("changed command")
    return found


def _describe(info: Any) -> str:
    """DVC's status entry of a stage (a list of dicts and strings) as one line."""
    parts = []
    for item in info if isinstance(info, list) else [info]:
        if isinstance(item, dict):
            for what, paths in item.items():
                detail = (
                    ", ".join(f"{p}: {s}" for p, s in paths.items())
                    if isinstance(paths, dict)
                    else str(paths)
                )
                parts.append(f"{what} ({detail})")
        else:
            parts.append(str(item))
    return "; ".join(parts)


def _plots(repo: Any, root: Path) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for stage in repo.index.stages:
        dvcfile = stage.dvcfile
        path = _relative(root, os.fspath(dvcfile.path))
        if path in seen or not path.endswith(("dvc.yaml", "dvc.yml")):
            continue
        seen.add(path)
        plots = dvcfile.contents.get("plots") if isinstance(dvcfile.contents, dict) else None
        for plot in plots or []:
            label = next(iter(plot)) if isinstance(plot, dict) else str(plot)
            yield (
                f"plot {label} ({path})",
                "mlv has no plots; the data files stay tracked, and `mlv diff` compares metrics",
            )


def _links(repo: Any) -> Iterator[tuple[str, str]]:
    configured = repo.config.get("cache", {}).get("type") or []
    kinds = [configured] if isinstance(configured, str) else list(configured)
    kind = ",".join(str(k) for k in kinds)
    if "symlink" in kinds:
        yield (
            f"cache.type {kind}",
            "work-tree files may be symbolic links into DVC's cache, and mlv tracks real files:"
            " `dvc config cache.type copy` and `dvc checkout --relink` first",
        )


def _remotes(repo: Any) -> Iterator[tuple[str, str]]:
    for name, conf in sorted(dict(repo.config.get("remote", {})).items()):
        url = conf.get("url", "")
        secret = sorted(CREDENTIAL_KEYS & set(conf))
        why = (
            "a DVC remote holds DVC's objects (md5), not mlv's; add a new location with"
            " `mlv remote add NAME URL` and `mlv push`"
        )
        if secret:
            why = (
                f"it carries credentials ({', '.join(secret)}), which mlv never writes to"
                " mlv.toml; give them to mlv in the environment, and " + why.split("; ", 1)[1]
            )
        yield f"remote {name} ({url})", why
