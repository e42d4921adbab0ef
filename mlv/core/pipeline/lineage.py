"""``mlv lineage``: walk from an artifact back through the stages that made it."""

from __future__ import annotations

from pathlib import Path

from mlv.core.project import Project, to_relpath
from mlv.errors import UsageError
from mlv.model.lineage import Lineage, LineageNode
from mlv.model.manifest import Lock
from mlv.model.paths import is_within


def _node(path: str, lock: Lock, tracked_in_git: set[str], seen: set[str]) -> LineageNode:
    for name, stage in sorted(lock.stages.items()):
        for out, oid in stage.outs.items():
            if is_within(path, out):
                node = LineageNode(
                    path,
                    oid if path == out else None,
                    "stage",
                    name,
                    stage.cmd,
                    stage.started,
                    dict(stage.params),
                )
                if name in seen:  # a malformed manifest with a cycle: stop, do not loop
                    return node
                for dep, dep_id in sorted(stage.deps.items()):
                    child = _node(dep, lock, tracked_in_git, seen | {name})
                    if child.id is None:
                        child.id = dep_id
                    node.inputs.append(child)
                return node
    artifact = lock.artifacts.get(path)
    if artifact is not None:
        return LineageNode(path, artifact.id, "tracked")
    if path in tracked_in_git:
        return LineageNode(path, None, "code")
    return LineageNode(path, None, "unknown")


def lineage(
    project: Project, path: str, rev: str | None = None, *, cwd: Path | None = None
) -> Lineage:
    """The lineage of ``path`` as recorded at ``rev`` (default: the work tree's mlv.lock).

    ``path`` is relative to ``cwd`` (default: the current directory).
    """
    if rev is None:
        lock = project.read_lock()
        if lock is None:
            raise UsageError("there is no mlv.lock yet", "run `mlv run` or `mlv snapshot` first")
        commit = None
    else:
        commit, lock = project.lock_at(rev)
    rel = to_relpath(project.root, path, cwd)
    known = set(lock.artifacts) | {o for s in lock.stages.values() for o in s.outs}
    if not any(is_within(rel, k) for k in known):
        raise UsageError(
            f"{rel} is not an artifact or stage output in this manifest",
            "`mlv show` lists what the manifest records",
        )
    deps = {d for s in lock.stages.values() for d in s.deps}
    in_git = {d for d in deps if project.git.tracked_under(d)}
    code_commit = lock.code.commit if lock.code is not None else commit
    return Lineage(_node(rel, lock, in_git, set()), code_commit, rev)
