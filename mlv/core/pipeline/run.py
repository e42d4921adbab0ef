"""``mlv run``: execute stale stages in dependency order and record them in mlv.lock.

Each stage's record is written as soon as it succeeds, so a later failure leaves the earlier
stages recorded. Before a stage runs, its previous outputs are saved to the store and removed, so
what it leaves behind is exactly what it wrote, and nothing is lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from mlv import faults
from mlv.core.declare import gitignore
from mlv.core.env.capture import capture as capture_environment
from mlv.core.objects.sharing import using_store
from mlv.core.pipeline.interrupted import RunMarker
from mlv.core.pipeline.params import metric_values, param_values
from mlv.core.pipeline.staleness import (
    StageState,
    decide,
    dependency_ids,
    output_ids,
    pipeline_states,
)
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.tables.records import outside, scanned_tables, table_records
from mlv.core.workspace.artifacts import artifact_record, store_scans
from mlv.core.workspace.scanner import Scan, Scanner
from mlv.errors import CheckFailed, MlvError
from mlv.model.ids import ObjectId
from mlv.model.manifest import EnvironmentRecord, Lock, StageRecord, TableRecord
from mlv.model.stages import StageDecl
from mlv.storage.lock import exclusive

# Events reported to the caller: ("skip" | "run" | "done" | "would run", stage, detail).
StageEvent = Callable[[str, str, str], None]


class StageFailed(CheckFailed):
    def __init__(self, name: str, code: int) -> None:
        super().__init__(
            f"stage {name} failed with exit code {code}; nothing was recorded for it",
            "fix the command and run `mlv run` again; stages that succeeded are recorded",
        )
        self.code = code


class MissingOutput(CheckFailed):
    def __init__(self, name: str, path: str) -> None:
        super().__init__(
            f"stage {name} succeeded but did not write its output {path}",
            "make the command write it, or remove it from the stage's outputs",
        )


@dataclass
class RunResult:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    would_run: list[StageState] = field(default_factory=list)


def execute(
    cmd: str,
    cwd: Path,
    *,
    capture: bool,
    on_start: Callable[[int], None] = lambda _: None,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run a stage command through the shell; its output streams to ours unless captured.

    The command gets a process group of its own, so that when mlv is interrupted the whole
    group (the shell and everything it started) is stopped, not just the shell. ``on_start``
    receives the group's id.
    """
    proc = subprocess.Popen(
        cmd,
        shell=True,
        cwd=cwd,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        start_new_session=True,
        env=env,  # None: ours; reproduce --env recorded runs stages inside a rebuilt environment
    )
    try:
        on_start(proc.pid)
        out, _ = proc.communicate()
    except BaseException:
        _stop_group(proc)
        raise
    output = out.decode(errors="replace") if capture and out else ""
    return proc.returncode, output


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group, then SIGKILL whatever is left after a grace period."""
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def clear_outputs(project: Project, scanner: Scanner, stage: StageDecl, root: Path) -> None:
    """Save the stage's current outputs in the store, then remove them."""
    scans = [s for s in (scanner.scan(out) for out in stage.outputs) if s is not None]
    store_scans(project, scans, scanner.jobs)
    project.store.sync_written()  # the store may now hold their only copy: on disk first
    for out in stage.outputs:
        path = root / out
        faults.step(out)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def record_stage(
    project: Project,
    scanner: Scanner,
    stage: StageDecl,
    deps: dict[str, ObjectId],
    started: datetime,
    duration: float,
    env: EnvironmentRecord,
) -> tuple[StageRecord, dict[str, Scan]]:
    """Hash and store the outputs of a stage that just succeeded; its record."""
    outs: dict[str, Scan] = {}
    for out in stage.outputs:
        scan = scanner.scan(out)
        if scan is None:
            raise MissingOutput(stage.name, out)
        outs[out] = scan
    store_scans(project, list(outs.values()), scanner.jobs)
    record = StageRecord(
        cmd=stage.cmd,
        deps=dict(deps),
        outs={out: scan.object_id() for out, scan in outs.items()},
        params=param_values(scanner.root, stage.params),
        metrics=metric_values(scanner.root, stage.metrics),
        started=started.isoformat(timespec="seconds"),
        duration=round(duration, 3),
        exit_status=0,
        env_fingerprint=env.fingerprint,
    )
    return record, outs


def run(
    project: Project,
    wanted: list[str] | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    on_event: StageEvent = lambda *_: None,
    progress: Progress = NULL_PROGRESS,
) -> RunResult:
    """Run the stale stages among ``wanted`` (default: all) and what they depend on.

    With ``dry_run``, decide as a run would, stage by stage, refusals included, and run nothing.
    """
    result = RunResult()
    stages = project.declarations.stages
    with exclusive(project.process_lock), using_store(project):
        lock = project.read_lock() or Lock()
        scanner = Scanner(
            project.root, project.state, jobs=project.settings.jobs, progress=progress
        )
        if dry_run:
            return _dry_run(project, lock, scanner, wanted, force, on_event)
        gitignore.update(project.root, add=[o for s in stages.values() for o in s.outputs])
        env = capture_environment(project.root, project.declarations.env_variables, project.store)
        order = [s.name for s in pipeline_states(project, lock, scanner, wanted)]
        for name in order:
            stage = stages[name]
            # Re-evaluated now: a stage that ran upstream may have changed this one's inputs.
            state = pipeline_states(project, lock, scanner, [name])[-1]
            verdict = decide(project, lock, scanner, state, force=force)
            if verdict.refusal is not None:
                raise verdict.refusal
            marker = RunMarker.of(project.tmp_dir, name)
            if not verdict.run:
                lock = _skip(project, lock, scanner, stage, marker)
                result.skipped.append(name)
                on_event("skip", name, verdict.detail)
                continue
            on_event("run", name, verdict.detail)
            done = _execute_stage(project, scanner, stage, marker)
            lock = _record_run(project, lock, scanner, stage, done, env, marker)
            result.ran.append(name)
            on_event("done", name, f"{done.duration:.2f} s")
    return result


def _dry_run(
    project: Project,
    lock: Lock,
    scanner: Scanner,
    wanted: list[str] | None,
    force: bool,
    on_event: StageEvent,
) -> RunResult:
    """What a run would do, stage by stage, refusals included; nothing runs."""
    result = RunResult()
    # Nothing runs, so nothing changes between stages: the states of now are the ones
    # each stage would be judged by (a stage after one that would run is stale too).
    for state in pipeline_states(project, lock, scanner, wanted):
        verdict = decide(project, lock, scanner, state, force=force)
        if verdict.refusal is not None:
            raise verdict.refusal
        if verdict.run:
            result.would_run.append(state)
            on_event("would run", state.name, verdict.detail)
        else:
            result.skipped.append(state.name)
            on_event("skip", state.name, verdict.detail)
    project.state.flush()
    return result


def _skip(
    project: Project, lock: Lock, scanner: Scanner, stage: StageDecl, marker: RunMarker
) -> Lock:
    """Let an up-to-date stage be: no interrupted run of it remains, nor a stale mark; the lock."""
    # Up to date (checked out, say): whatever an interrupted run left is gone.
    marker.finish()
    if stage.name in lock.stages and lock.stages[stage.name].stale_reasons:
        lock = _unmark(project, lock, scanner, stage)
    return lock


@dataclass(frozen=True, slots=True)
class _Executed:
    """A stage command that exited 0: its inputs as it read them, and when and how long it ran."""

    deps: dict[str, ObjectId]
    started: datetime
    duration: float


def _execute_stage(
    project: Project, scanner: Scanner, stage: StageDecl, marker: RunMarker
) -> _Executed:
    """Run one stage's command, its old outputs saved and removed first; exit 0 or StageFailed."""
    deps = dependency_ids(scanner, stage)
    marker.start()
    clear_outputs(project, scanner, stage, project.root)
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    code, _ = execute(
        stage.cmd,
        project.root,
        capture=False,
        on_start=marker.note_group,
    )
    duration = time.monotonic() - clock
    if code != 0:
        marker.note_failure(output_ids(scanner, stage))
        project.state.flush()
        raise StageFailed(stage.name, code)
    return _Executed(deps, started, duration)


def _record_run(
    project: Project,
    lock: Lock,
    scanner: Scanner,
    stage: StageDecl,
    done: _Executed,
    env: EnvironmentRecord,
    marker: RunMarker,
) -> Lock:
    """Store the outputs of a stage that succeeded and write its record to mlv.lock at once."""
    try:
        record, outs = record_stage(
            project, scanner, stage, done.deps, done.started, done.duration, env
        )
    except MlvError:  # e.g. an output missing: as good as a failure
        marker.note_failure(output_ids(scanner, stage))
        raise
    artifacts = dict(lock.artifacts)
    for out, scan in outs.items():
        artifacts[out] = artifact_record(project.declarations.artifacts[out].kind, scan)
    lock = msgspec.structs.replace(
        lock,
        artifacts=artifacts,
        stages={**lock.stages, stage.name: record},
        environment=env,
        tables=_tables(project, lock, outs) or msgspec.UNSET,
    )
    project.store.sync_written()  # on disk before mlv.lock names them
    project.write_lock(lock)
    project.state.flush()
    marker.finish()
    return lock


def _unmark(project: Project, lock: Lock, scanner: Scanner, stage: StageDecl) -> Lock:
    """A stage a snapshot marked stale is up to date again (its outputs were put back): record
    its outputs as they are, drop the mark and write mlv.lock, so that status, run and the
    manifest agree again (as after running it)."""
    outs = {out: scanner.scan(out) for out in stage.outputs}
    scans = {out: scan for out, scan in outs.items() if scan is not None}
    store_scans(project, list(scans.values()), scanner.jobs)
    artifacts = dict(lock.artifacts)
    for out, scan in scans.items():
        artifacts[out] = artifact_record(project.declarations.artifacts[out].kind, scan)
    record = msgspec.structs.replace(lock.stages[stage.name], stale=msgspec.UNSET)
    lock = msgspec.structs.replace(
        lock,
        artifacts=artifacts,
        stages={**lock.stages, stage.name: record},
        tables=_tables(project, lock, scans) or msgspec.UNSET,
    )
    project.store.sync_written()  # on disk before mlv.lock names them
    project.write_lock(lock)
    return lock


def _tables(project: Project, lock: Lock, outs: dict[str, Scan]) -> dict[str, TableRecord]:
    """The manifest's table records once ``outs`` are recorded: theirs summarised anew (or
    reused), every other one kept."""
    fresh = table_records(project, scanned_tables(outs.values()), lock.table_records)
    return dict(sorted({**outside(lock.table_records, outs), **fresh}.items()))
