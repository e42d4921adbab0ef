"""``mlv reproduce``: re-run a recorded pipeline in an isolated worktree and compare outputs.

The user's work tree, mlv.lock and stat cache are never touched: the code is checked out into a
detached git worktree under .mlv/tmp (with the recorded patch applied), the inputs no stage
produces are restored there from the store, and every stage is re-run in order. Each output is
hashed and compared with its recorded id; the report names the first stage whose outputs diverged
while its inputs matched. The worktree is removed afterwards, on failure and on interrupt too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlv.adapters.git import GitRepo
from mlv.core.code import worktree
from mlv.core.env.capture import capture as capture_environment
from mlv.core.env.drift import compare as compare_environment
from mlv.core.objects.sharing import shares_store
from mlv.core.pipeline.params import metric_values
from mlv.core.pipeline.run import execute
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.restore.checkout import restore
from mlv.core.tables.judge import judge_directory, judge_table
from mlv.core.workspace.scanner import Scanner
from mlv.errors import UsageError
from mlv.model.manifest import Lock, StageRecord
from mlv.model.paths import is_within
from mlv.model.reproduce import (
    DIFFERS,
    IDENTICAL,
    MISSING,
    WITHIN_TOLERANCE,
    MetricDelta,
    OutputVerdict,
    ReproduceReport,
    StageVerdict,
)
from mlv.model.stages import StageDecl, topological_order
from mlv.model.summary import table_format
from mlv.storage.state import StatCache

# Events for the caller: ("worktree" | "inputs" | "stage" | "log", detail).
ReproduceEvent = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Options:
    stage: str | None = None
    tolerances: dict[str, float] | None = None
    keep_workdir: bool = False
    capture: bool = True  # capture stage output into the report instead of streaming it
    env: str = "current"  # "recorded": run the stages in the recorded environment, rebuilt
    installer: str = "auto"  # for a rebuilt environment: "auto" | "uv" | "pip"
    installer_args: tuple[str, ...] = ()  # passed through (--find-links, --index-url ...)
    python: Path | None = None  # build with this interpreter instead of the recorded version


def recorded_order(lock: Lock, wanted: str | None) -> list[str]:
    """The recorded stages in execution order (``wanted`` and what it needs)."""
    decls = {
        name: StageDecl(name, rec.cmd, tuple(rec.deps), tuple(rec.outs))
        for name, rec in lock.stages.items()
    }
    if wanted is not None and wanted not in decls:
        raise UsageError(
            f"no stage {wanted!r} recorded in this snapshot",
            f"recorded stages: {', '.join(sorted(decls)) or '(none)'}",
        )
    return topological_order(decls, [wanted] if wanted else None)


def inputs_from_store(lock: Lock, order: list[str], produced: set[str], workdir: Path) -> list[str]:
    """The recorded artifacts (or parts of them) that the stages read and no stage writes.

    A dependency may be an artifact, lie inside one, or contain some (``-d data`` over
    ``data/raw``); one that is neither recorded nor in git cannot be provided.
    """
    wanted: set[str] = set()
    absent: list[str] = []
    for dep in sorted({d for n in order for d in lock.stages[n].deps}):
        if any(is_within(dep, out) for out in produced):
            continue  # a stage makes it
        owner = next((a for a in lock.artifacts if is_within(dep, a)), None)
        inner = [
            a
            for a in lock.artifacts
            if is_within(a, dep) and a != dep and not any(is_within(a, o) for o in produced)
        ]
        if owner is not None:
            wanted.add(dep)
        elif inner:
            wanted.update(inner)
        elif not (workdir / dep).exists():
            absent.append(dep)
    if absent:
        raise UsageError(
            f"input(s) neither in git nor recorded as artifacts: {', '.join(absent)}",
            "track them (mlv track) or commit them, run and snapshot again",
        )
    return sorted(wanted)


def _tolerance(name: str, tolerances: dict[str, float]) -> float | None:
    """A tolerance given for ``file:metric`` or for the bare metric name."""
    if name in tolerances:
        return tolerances[name]
    return tolerances.get(name.partition(":")[2])


def _metric_deltas(
    record: StageRecord, current: dict[str, Any], path: str, tolerances: dict[str, float]
) -> list[MetricDelta]:
    prefix = f"{path}:"
    names = sorted({k for k in [*record.metrics, *current] if k.startswith(prefix)})
    deltas = []
    for name in names:
        old, new = record.metrics.get(name), current.get(name)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
        delta = float(new) - float(old) if numeric else None  # type: ignore[arg-type]
        deltas.append(MetricDelta(name, old, new, delta, _tolerance(name, tolerances)))
    return deltas


def _judge_outputs(
    project: Project,
    lock: Lock,
    name: str,
    record: StageRecord,
    scanner: Scanner,
    tolerances: dict[str, float],
    metrics_files: set[str],
) -> list[OutputVerdict]:
    verdicts = []
    current_metrics: dict[str, Any] = {}
    for path, run_id in sorted(record.outs.items()):
        # The result to re-derive is what the snapshot records for the path. It differs from
        # what the stage wrote only in a record marked stale (an output kept after an edit by
        # hand): that output is judged too, and no tolerance can excuse it.
        artifact = lock.artifacts.get(path)
        recorded_id = run_id if artifact is None else artifact.id
        recorded_size = None if artifact is None else artifact.size
        scan = scanner.scan(path)
        if scan is None:
            verdicts.append(OutputVerdict(name, path, MISSING, recorded_id, None, recorded_size))
            continue
        oid = scan.object_id()
        verdict = OutputVerdict(
            name,
            path,
            IDENTICAL if oid == recorded_id else DIFFERS,
            recorded_id,
            oid,
            recorded_size,
            scan.size,
        )
        tolerable = recorded_id == run_id
        if verdict.verdict == DIFFERS and scan.type == "dir":
            judge_directory(project, verdict, scan, tolerances, tolerable)
        elif verdict.verdict == DIFFERS and table_format(path):
            judge_table(project, verdict, scanner.root / path, tolerances, tolerable)
        if verdict.verdict == DIFFERS and path in metrics_files and recorded_id == run_id:
            try:
                current_metrics.update(metric_values(scanner.root, (path,)))
            except UsageError:
                pass  # unreadable now: it simply differs
            else:
                verdict.metrics = _metric_deltas(record, current_metrics, path, tolerances)
                if verdict.metrics and all(m.within for m in verdict.metrics):
                    verdict.verdict = WITHIN_TOLERANCE
        verdicts.append(verdict)
    return verdicts


@shares_store
def reproduce(
    project: Project,
    rev: str = "HEAD",
    options: Options = Options(),
    *,
    on_event: ReproduceEvent = lambda *_: None,
    progress: Progress = NULL_PROGRESS,
) -> ReproduceReport:
    """Re-run the stages recorded at ``rev`` in isolation and judge every output."""
    sha, lock = project.lock_at(rev)
    if not lock.stages:
        raise UsageError(
            f"{rev} records no pipeline stages; there is nothing to re-run",
            "declare stages (mlv stage add), mlv run, then mlv snapshot",
        )
    if lock.code is None:
        raise UsageError(f"{rev} has no code record", "take a snapshot with `mlv snapshot`")
    order = recorded_order(lock, options.stage)
    name = f"reproduce-{sha[:10]}-{uuid.uuid4().hex[:6]}"
    state_db = project.tmp_dir / f"{name}.state.db"
    report = ReproduceReport(rev, sha, {})
    try:
        with worktree(project, lock.code.commit, name, options.keep_workdir) as workdir:
            if options.keep_workdir:
                report.workdir = str(workdir)
            on_event("worktree", str(workdir))
            if lock.code.patch is not None:
                GitRepo(workdir).apply(project.store.read_bytes(lock.code.patch))
            wt_project = _worktree_project(project, workdir, state_db)
            try:
                _restore_inputs(wt_project, lock, order, on_event, progress)
                stage_env = _stage_environment(
                    project, lock, sha, options, workdir, report, on_event
                )
                report.stages.extend(
                    _rerun_stages(project, wt_project, lock, order, options, stage_env, on_event)
                )
            finally:
                wt_project.state.close()
    finally:
        _remove_state_db(state_db)
    return report


def _worktree_project(project: Project, workdir: Path, state_db: Path) -> Project:
    """The project as seen from the worktree: the same store, declarations and settings, and a
    stat cache of its own, as the user's is never touched."""
    return Project(
        workdir,
        GitRepo(workdir),
        project.declarations,
        project.settings,
        project.store,
        StatCache(state_db, project.tmp_dir),
    )


def _restore_inputs(
    wt_project: Project,
    lock: Lock,
    order: list[str],
    on_event: ReproduceEvent,
    progress: Progress,
) -> None:
    """Check out into the worktree the recorded inputs that git does not hold and no stage makes."""
    produced = {out for rec in lock.stages.values() for out in rec.outs}
    from_store = inputs_from_store(lock, order, produced, wt_project.root)
    if from_store:
        on_event("inputs", ", ".join(from_store))
        restore(wt_project, lock, from_store, progress=progress)


def _rerun_stages(
    project: Project,
    wt_project: Project,
    lock: Lock,
    order: list[str],
    options: Options,
    stage_env: dict[str, str] | None,
    on_event: ReproduceEvent,
) -> list[StageVerdict]:
    """Re-run the stages in order, judging each one's outputs; once one fails, the rest are
    not run (their outputs are reported missing)."""
    # Per-column table tolerances of mlv.toml, overridden by the command line's.
    tolerances = {**project.declarations.tables.tolerance, **(options.tolerances or {})}
    scanner = Scanner(wt_project.root, wt_project.state, jobs=project.settings.jobs)
    metrics_files = _metrics_files(project, lock)
    verdicts: list[StageVerdict] = []
    failed = False
    for stage_name in order:
        record = lock.stages[stage_name]
        verdict = StageVerdict(stage_name, record.cmd, True)
        verdict.marked_stale = record.stale_reasons
        verdicts.append(verdict)
        if failed:
            verdict.outputs = _all_missing(stage_name, record)
            continue
        _compare_inputs(scanner, record, verdict)
        on_event("stage", stage_name)
        clock = time.monotonic()
        verdict.exit_code, verdict.log = execute(
            record.cmd, wt_project.root, capture=options.capture, env=stage_env
        )
        verdict.duration = time.monotonic() - clock
        if verdict.exit_code != 0:
            failed = True
            verdict.outputs = _all_missing(stage_name, record)
            continue
        verdict.outputs = _judge_outputs(
            project, lock, stage_name, record, scanner, tolerances, metrics_files
        )
    return verdicts


def _compare_inputs(scanner: Scanner, record: StageRecord, verdict: StageVerdict) -> None:
    """Note in ``verdict`` each input the stage is about to read that is not as recorded."""
    for dep, recorded_id in sorted(record.deps.items()):
        scan = scanner.scan(dep)
        if scan is None or scan.object_id() != recorded_id:
            verdict.inputs_matched = False
            verdict.input_differences.append(dep)


def _all_missing(stage_name: str, record: StageRecord) -> list[OutputVerdict]:
    """The verdicts on the outputs of a stage that did not run to success: all missing."""
    return [OutputVerdict(stage_name, p, MISSING, i, None) for p, i in sorted(record.outs.items())]


def _remove_state_db(state_db: Path) -> None:
    """Remove the worktree's stat cache and the files its database keeps beside it."""
    for leftover in (state_db, *state_db.parent.glob(state_db.name + "-*")):
        leftover.unlink(missing_ok=True)


def _stage_environment(
    project: Project,
    lock: Lock,
    sha: str,
    options: Options,
    workdir: Path,
    report: ReproduceReport,
    on_event: ReproduceEvent,
) -> dict[str, str] | None:
    """The variables the stages run with (None: mlv's own), and the report's account of the
    environment: the current one with its drift, or the recorded one rebuilt (or cached)."""
    if options.env != "recorded":
        current = capture_environment(workdir, project.declarations.env_variables, None)
        report.environment_used = {"kind": "current", "fingerprint": str(current.fingerprint)}
        if lock.environment is not None:
            report.environment = compare_environment(lock.environment, current).to_dict()
        return None
    from mlv.adapters.installer import Installer
    from mlv.core.env.cache import cached_environment
    from mlv.core.env.plan import plan_restore
    from mlv.core.env.restore import environ_for, listed_record

    plan = plan_restore(
        lock, project.store, read_code=lambda path: project.git.read_blob(sha, path)
    )
    clock = time.monotonic()
    built = cached_environment(
        plan,
        lambda: Installer.choose(options.installer),
        list(options.installer_args),
        about={"rev": report.rev, "commit": sha},
        python=options.python,
        on_step=lambda kind, detail: on_event("env", f"{kind}: {detail}"),
    )
    report.environment_used = {
        "kind": "recorded",
        "fingerprint": str(plan.record.fingerprint),
        "path": str(built.path),
        "built": built.built,
        "python": built.python,
        "seconds": round(time.monotonic() - clock, 3),
        "notes": built.notes,
    }
    # What the stages really run with, against the record: empty unless the build fell short
    # or another interpreter was asked for.
    really = listed_record(plan, built.path, built.python)
    report.environment = compare_environment(plan.record, really).to_dict()
    return environ_for(built.path, workdir if plan.project else None)


def _metrics_files(project: Project, lock: Lock) -> set[str]:
    """Outputs that are metrics files: declared so, or recorded with metric values."""
    files = {m for s in project.declarations.stages.values() for m in s.metrics}
    for record in lock.stages.values():
        files.update(k.partition(":")[0] for k in record.metrics)
    files.update(p for p, a in lock.artifacts.items() if a.kind == "metrics")
    return files
