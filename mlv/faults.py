"""Fault injection for mlv's own crash and full-disk tests.

Storage tools earn trust by dying on purpose in their tests (git's GIT_TEST_* variables, SQLite's
fault hooks). mlv marks every durable step: a data write (``write``) and each rename into place,
deletion or git update (``step``). A local data write's mark falls once half of its bytes are
written (``fsutil.write_all``, ``fsutil.copy_into``), so a fault leaves a partial temporary file,
as a real crash or full disk does; a transfer to or from a remote is marked before it starts.
With ``MLV_FAULT`` unset, as always outside tests, a mark costs one comparison. With it set:

``count:FILE``  append one line per mark (``<n> <write|step> <label>``) to FILE
``kill@N``      SIGKILL this process at the N-th mark, writes and steps counted together
``stop-at:S``   SIGSTOP at the first mark whose label ends with S (e.g. ``/mlv.lock``: just
                before mlv.lock is replaced), to hold the process exactly there while another
                runs (a test resumes it with SIGCONT)
``enospc@N``    the N-th data write fails as on a full disk (ENOSPC)
``eio@N``       the N-th data write fails with an I/O error (EIO)
"""

from __future__ import annotations

import errno
import os
import re
import signal
import threading

from mlv.errors import UsageError

ENV = "MLV_FAULT"
_SPEC = re.compile(
    r"^(?:count:(?P<file>.+)|stop-at:(?P<suffix>.+)"
    r"|(?P<action>kill|enospc|eio)@(?P<n>[1-9][0-9]*))$"
)
_ERRNO = {"enospc": errno.ENOSPC, "eio": errno.EIO}


class _Injector:
    def __init__(self, spec: str) -> None:
        match = _SPEC.match(spec)
        if match is None:
            raise UsageError(
                f"{ENV}={spec!r} is not a fault specification",
                "use count:FILE, kill@N, stop-at:SUFFIX, enospc@N or eio@N (a test"
                " setting; unset it otherwise)",
            )
        self.count_file = match["file"]
        self.suffix = match["suffix"]
        self.action = "stop" if self.suffix else match["action"]
        self.target = int(match["n"]) if match["n"] else 0
        self.marks = 0
        self.writes = 0
        self.lock = threading.Lock()  # marks come from the hashing and transfer threads too

    def mark(self, label: str, *, is_write: bool) -> None:
        with self.lock:
            self.marks += 1
            self.writes += is_write
            mark, write = self.marks, self.writes
            if self.count_file:
                kind = "write" if is_write else "step"
                with open(self.count_file, "a", encoding="utf-8") as log:
                    log.write(f"{mark} {kind} {label}\n")
                return
        if self.suffix is not None:
            if label.endswith(self.suffix):
                self.suffix = None  # the first such mark only
                # Sent to this thread, not the process: a process-directed stop may be taken by
                # another thread, and this one would go on writing until the group stop reaches
                # it (seen: a copy finished after its "frozen" mark).
                signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
            return
        if self.action == "kill" and mark == self.target:
            signal.pthread_kill(threading.get_ident(), signal.SIGKILL)  # before another byte
        if is_write and write == self.target and self.action in _ERRNO:
            code = _ERRNO[self.action]
            raise OSError(code, f"{os.strerror(code)} (injected by {ENV})", label)


_INJECTOR: _Injector | None = None


def _load() -> None:
    global _INJECTOR
    spec = os.environ.get(ENV)
    _INJECTOR = _Injector(spec) if spec else None


def write(label: str) -> None:
    """Mark a data write (``label``: the file written), half done where it is local."""
    if _INJECTOR is not None:
        _INJECTOR.mark(label, is_write=True)


def step(label: str) -> None:
    """Mark a durable step about to happen: a rename into place, a deletion, a git update."""
    if _INJECTOR is not None:
        _INJECTOR.mark(label, is_write=False)


def reload() -> None:
    """Read ``MLV_FAULT`` again (for in-process test runs that change it)."""
    _load()


_load()
