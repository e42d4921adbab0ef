"""``mlv track`` / ``mlv untrack``: declare paths as artifacts (mlv.toml) and keep git off them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

from mlv.core.declare import gitignore
from mlv.core.project import Project, to_relpath
from mlv.errors import PathError, UsageError
from mlv.model.declarations import DECLARATIONS_FILE, with_artifact, without_artifact
from mlv.model.kinds import default_kind
from mlv.model.manifest import KINDS
from mlv.model.paths import check_artifact_path, find_collision, is_within, same_file_message
from mlv.storage.fsutil import write_bytes_atomic
from mlv.storage.lock import exclusive


@dataclass(frozen=True, slots=True)
class Tracked:
    path: str
    kind: str


def track(
    project: Project, paths: list[str], kind: str | None = None, cwd: Path | None = None
) -> list[Tracked]:
    """Declare ``paths`` as artifacts; each must exist and must not be tracked by git."""
    if kind is not None and kind not in KINDS:
        raise UsageError(f"unknown kind {kind!r}", f"kinds are: {', '.join(KINDS)}")
    rels = [check_artifact_path(to_relpath(project.root, p, cwd)) for p in paths]
    declared = project.declarations.artifacts
    done: list[Tracked] = []
    for rel in dict.fromkeys(rels):
        absolute = project.abspath(rel)
        if absolute.is_symlink():
            raise PathError(f"{rel} is a symbolic link", "track the file or directory it points to")
        if not absolute.exists():
            raise PathError(f"{rel} does not exist", "create it first, then track it")
        for other in declared:
            if other != rel and (is_within(rel, other) or is_within(other, rel)):
                raise UsageError(
                    f"{rel} overlaps the tracked path {other}",
                    "track the outer directory or the inner path, not both"
                    f" (`mlv untrack {other}` first)",
                )
        in_git = project.git.tracked_under(rel)
        if in_git:
            raise UsageError(
                f"{rel} is already tracked by git ({len(in_git)} file(s))",
                f"stop tracking it in git first: git rm -r --cached {rel}",
            )
        done.append(
            Tracked(rel, kind or (declared[rel].kind if rel in declared else default_kind(rel)))
        )
    collision = find_collision([*declared, *(t.path for t in done)])
    if collision is not None:
        raise PathError(
            same_file_message("tracked paths", collision),
            "rename one of them; mlv keeps snapshots portable (docs/decisions.md)",
        )
    with exclusive(project.process_lock):
        toml = project.root / DECLARATIONS_FILE
        text = toml.read_text(encoding="utf-8")
        for item in done:
            text = with_artifact(text, item.path, item.kind)
        write_bytes_atomic(toml, text.encode("utf-8"), durable=False, tmp_dir=project.tmp_dir)
        gitignore.update(project.root, add=[t.path for t in done])
    return done


def untrack(project: Project, paths: list[str], cwd: Path | None = None) -> list[str]:
    """Stop tracking ``paths``: the files stay; mlv.toml, .gitignore and mlv.lock forget them."""
    rels = [to_relpath(project.root, p, cwd) for p in paths]
    for stage in project.declarations.stages.values():
        for rel in rels:
            if rel in stage.outputs:
                raise UsageError(
                    f"{rel} is an output of stage {stage.name}",
                    f"remove it from the stage (edit [stages.{stage.name}] in"
                    " mlv.toml) to stop tracking it",
                )
    unknown = [r for r in rels if r not in project.declarations.artifacts]
    if unknown:
        raise UsageError(
            f"not a tracked path: {', '.join(unknown)}", "`mlv status` lists the tracked paths"
        )
    with exclusive(project.process_lock):
        toml = project.root / DECLARATIONS_FILE
        text = toml.read_text(encoding="utf-8")
        for rel in rels:
            text = without_artifact(text, rel)
        write_bytes_atomic(toml, text.encode("utf-8"), durable=False, tmp_dir=project.tmp_dir)
        gitignore.update(project.root, remove=rels)
        lock = project.read_lock()
        if lock is not None and any(r in lock.artifacts for r in rels):
            artifacts = {p: a for p, a in lock.artifacts.items() if p not in rels}
            tables = {
                p: t
                for p, t in lock.table_records.items()
                if not any(is_within(p, r) for r in rels)
            }
            project.write_lock(
                msgspec.structs.replace(lock, artifacts=artifacts, tables=tables or msgspec.UNSET)
            )
    return rels
