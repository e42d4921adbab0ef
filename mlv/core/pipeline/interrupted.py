"""What an interrupted or failed ``mlv run`` of a stage left behind, remembered per stage.

From clearing a stage's outputs until mlv.lock records the stage, ``.mlv/tmp/running-<stage>``
says the stage is under way: the process group of its command (so a re-run after a kill can tell
that the orphaned command still runs) and, when the command failed, the ids of the outputs it
left. A re-run treats outputs that a killed or failed run left as that run's debris, not as
somebody's edits, and replaces them without ``--force``; what they replaced was saved to the
store before the stage started.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from mlv.errors import CheckFailed
from mlv.storage.fsutil import write_bytes_atomic

# Changes at every boot: a process group id written before a reboot names nothing now.
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

OutputIds = dict[str, str | None]  # output path -> content id, None when absent


class StillRunning(CheckFailed):
    def __init__(self, name: str, group: int) -> None:
        super().__init__(
            f"stage {name} of an interrupted `mlv run` is still running (process group {group})",
            f"let it finish or stop it (kill -- -{group}), then run `mlv run` again",
        )


def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class RunMarker:
    path: Path
    stage: str

    @classmethod
    def of(cls, tmp_dir: Path, stage: str) -> RunMarker:
        return cls(tmp_dir / f"running-{stage}", stage)

    def _read(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            return {}  # torn: still says a run was interrupted
        if isinstance(data, int):  # an older mlv wrote the bare process group
            return {"group": data, "boot": _boot_id()}
        return data if isinstance(data, dict) else {}

    def _write(self, **fields: object) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"boot": _boot_id(), **fields}, sort_keys=True).encode()
        write_bytes_atomic(self.path, data, durable=False)

    def start(self) -> None:
        self._write()

    def note_group(self, group: int) -> None:
        self._write(group=group)

    def note_failure(self, left: OutputIds) -> None:
        """The stage failed: remember what it left (its process group too, for any children
        it left running in the background)."""
        group = (self._read() or {}).get("group")
        self._write(left=left, **({"group": group} if isinstance(group, int) else {}))

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)

    def refuse_if_still_running(self) -> None:
        """A killed mlv cannot stop its stage; a re-run must not race the orphan for outputs."""
        data = self._read() or {}
        group = data.get("group")
        if not isinstance(group, int) or group <= 0 or data.get("boot") != _boot_id():
            return
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass  # the group exists, owned by someone else
        raise StillRunning(self.stage, group)

    def explains(self, current: OutputIds) -> bool:
        """Whether the outputs as they are now were left by an interrupted or failed run.

        After a failure the marker holds what the run left, so a later hand edit still counts
        as one. After a kill nothing could be noted: what is there is taken as the run's.
        """
        data = self._read()
        if data is None:
            return False
        left = data.get("left")
        return left is None or left == current
