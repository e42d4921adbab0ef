"""``mlv stage add``: declare a pipeline stage in mlv.toml (its outputs become artifacts)."""

from __future__ import annotations

from pathlib import Path

from mlv.core.declare import gitignore
from mlv.core.project import Project, to_relpath
from mlv.errors import UsageError
from mlv.model.declarations import DECLARATIONS_FILE, decode_declarations, with_stage
from mlv.model.kinds import default_kind
from mlv.model.manifest import KINDS, Kind
from mlv.model.names import check_name
from mlv.model.stages import ParamSpec, StageDecl, validate_pipeline
from mlv.storage.fsutil import write_bytes_atomic
from mlv.storage.lock import exclusive


def add_stage(
    project: Project,
    name: str,
    cmd: str,
    *,
    deps: list[str],
    outs: list[str],
    params: list[str],
    metrics: list[str],
    kinds: dict[str, str],
    force: bool = False,
    cwd: Path | None = None,
) -> StageDecl:
    """Add (or with ``force`` replace) stage ``name``; the whole pipeline must stay valid."""
    check_name(name, "stage")
    if not cmd.strip():
        raise UsageError(f"stage {name} has no command", "give it after --: -- python train.py")
    if name in project.declarations.stages and not force:
        raise UsageError(f"stage {name} already exists", "pass --force to replace it")

    def rel(p: str) -> str:
        return to_relpath(project.root, p, cwd)

    out_rels = [rel(o) for o in outs]
    metric_rels = [rel(m) for m in metrics]
    kind_map: dict[str, Kind] = {}
    for out, kind in kinds.items():
        out_rel = rel(out)
        if out_rel not in out_rels + metric_rels:
            raise UsageError(f"--kind-of names {out}, which is not an output of the stage")
        if kind not in KINDS:
            raise UsageError(f"unknown kind {kind!r}", f"kinds are: {', '.join(KINDS)}")
        kind_map[out_rel] = kind  # type: ignore[assignment]
    param_specs = []
    for p in params:
        file, sep, keys = p.partition(":")
        param_specs.append(ParamSpec.parse(rel(file) + sep + keys))
    stage = StageDecl(
        name,
        cmd,
        tuple(rel(d) for d in deps),
        tuple(out_rels),
        tuple(param_specs),
        tuple(metric_rels),
        kind_map,
    )
    for out in stage.outputs:
        in_git = project.git.tracked_under(out)
        if in_git:
            raise UsageError(
                f"output {out} is tracked by git",
                f"stop tracking it in git first: git rm -r --cached {out}",
            )
    validate_pipeline({**project.declarations.stages, name: stage})
    all_kinds = {
        o: kind_map.get(o) or ("metrics" if o in metric_rels else default_kind(o))
        for o in stage.outputs
    }
    with exclusive(project.process_lock):
        toml = project.root / DECLARATIONS_FILE
        text = with_stage(toml.read_text(encoding="utf-8"), stage, all_kinds)
        decode_declarations(text)  # the result must read back as a valid project
        write_bytes_atomic(toml, text.encode("utf-8"), durable=False, tmp_dir=project.tmp_dir)
        gitignore.update(project.root, add=list(stage.outputs))
    return stage
