"""``mlv pull``: fetch what a revision needs, then check it out; a corrupt object in the store
is repaired from the remote on the way."""

from __future__ import annotations

from mlv.core.objects.sharing import using_store
from mlv.core.progress import NULL_PROGRESS, Progress
from mlv.core.project import Project
from mlv.core.remote.fetch import fetch
from mlv.core.remote.repair import repair_refused
from mlv.core.remote.resolve import DEFAULT_JOBS, TransferResult
from mlv.core.restore.checkout import CheckoutResult, checkout
from mlv.errors import CorruptObject, CorruptObjects
from mlv.storage.lock import exclusive


def pull(
    project: Project,
    remote_name: str | None = None,
    rev: str | None = None,
    *,
    jobs: int = DEFAULT_JOBS,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> tuple[TransferResult, CheckoutResult | None]:
    """Fetch what ``rev`` (default: the work tree's mlv.lock) needs, then check it out."""
    # Both locks across both steps, repository first as everywhere: gc cannot slip in between
    # the download and the checkout and delete what was just fetched. (fetch and checkout take
    # them again; a lock this process holds is counted, not taken twice.)
    with exclusive(project.process_lock):
        try:
            with using_store(project):
                revs = [rev] if rev else None
                fetched = fetch(project, remote_name, revs, jobs=jobs, progress=progress)
                if not fetched.complete:
                    return fetched, None
                return fetched, checkout(project, rev=rev, force=force, progress=progress)
        except (CorruptObject, CorruptObjects) as exc:  # damaged in the store: fetch skipped it
            repair_refused(project, exc, remote_name, jobs)  # whole copies, or raises exc
        with using_store(project):
            return fetched, checkout(project, rev=rev, force=force, progress=progress)
