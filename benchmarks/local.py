"""The local tier: mlv and DVC through the same sequence of operations on generated data, in
fresh repositories, with a directory remote; and the machine's floors on the same data."""

from __future__ import annotations

import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Measure, MiB, git_repo, run_cmds, sh, timed_isolated


@dataclass
class Dataset:
    name: str
    files: int
    file_size: int
    dirs: int

    def describe(self) -> str:
        size = self.file_size
        unit = f"{size // MiB} MiB" if size >= MiB else f"{size // 1024} KiB"
        where = f" in {self.dirs} dirs" if self.dirs > 1 else ""
        return f"{self.name}: {self.files:,} x {unit}{where}"


SIZES = {
    "full": [Dataset("big", 4, 512 * MiB, 1), Dataset("many", 50_000, 4096, 100)],
    "quick": [Dataset("big", 4, 64 * MiB, 1), Dataset("many", 10_000, 4096, 100)],
    "smoke": [Dataset("big", 2, 4 * MiB, 1), Dataset("many", 300, 4096, 10)],
}


def generate(ds: Dataset, target: Path) -> None:
    """Deterministic content: a seeded generator, so every run benchmarks the same bytes."""
    marker = target / f".complete-{ds.files}-{ds.file_size}"
    if marker.exists():
        return
    shutil.rmtree(target, ignore_errors=True)
    rng = random.Random(f"{ds.name}-{ds.files}-{ds.file_size}")
    per_dir = -(-ds.files // ds.dirs)
    block = min(ds.file_size, 4 * MiB)
    for i in range(ds.files):
        d = target / (f"d{i // per_dir:03d}" if ds.dirs > 1 else "")
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"f{i:06d}.bin", "wb") as handle:
            left = ds.file_size
            while left:
                n = min(block, left)
                handle.write(rng.randbytes(n))
                left -= n
    marker.touch()


@dataclass
class Tool:
    name: str
    exe: str

    def init(self, repo: Path) -> None:
        git_repo(repo)
        if self.name == "mlv":
            sh([self.exe, "init"], repo)
        else:
            sh([self.exe, "init", "-q"], repo)
            sh([self.exe, "config", "core.analytics", "false"], repo)
            sh([self.exe, "config", "core.autostage", "false"], repo)

    def add(self) -> list[list[str]]:
        if self.name == "mlv":
            return [[self.exe, "track", "data"], [self.exe, "snapshot", "--no-commit"]]
        return [[self.exe, "add", "data"]]

    def status(self) -> list[list[str]]:
        return [[self.exe, "status"]]

    def resnapshot(self) -> list[list[str]]:
        if self.name == "mlv":
            return [[self.exe, "snapshot", "--no-commit"]]
        return [[self.exe, "add", "data"]]

    def checkout(self) -> list[list[str]]:
        return [[self.exe, "checkout", "--force"]]

    def set_hardlink(self, repo: Path) -> None:
        if self.name == "mlv":
            text = (repo / "mlv.toml").read_text().replace('link = "copy"', 'link = "hardlink"')
            (repo / "mlv.toml").write_text(text)
        else:
            sh([self.exe, "config", "cache.type", "hardlink"], repo)

    def add_remote(self, repo: Path, url: Path) -> None:
        if self.name == "mlv":
            sh([self.exe, "remote", "add", "bench", str(url), "--default"], repo)
        else:
            sh([self.exe, "remote", "add", "-d", "bench", str(url)], repo)

    def cache_dir(self, repo: Path) -> Path:
        return repo / (".mlv/cache" if self.name == "mlv" else ".dvc/cache")

    def gc(self) -> list[list[str]]:
        if self.name == "mlv":
            return [[self.exe, "gc", "--workspace", "--force"]]  # as dvc gc -w -f
        return [[self.exe, "gc", "-w", "-f"]]


Record = Callable[[str, Measure], None]


def scenario(tool: Tool, ds: Dataset, source: Path, work: Path, record: Record) -> None:
    """One fresh repository through the whole sequence of operations."""
    repo = work / f"{tool.name}-{ds.name}"
    tool.init(repo)
    sh(["cp", "-r", str(source), str(repo / "data")], repo)
    time.sleep(2.1)  # let the copies age past mlv's racy-clean window, as real data would be
    record("first snapshot", run_cmds(tool.add(), repo))
    record("status, nothing changed", run_cmds(tool.status(), repo))
    victim = sorted((repo / "data").rglob("*.bin"))[0]
    with open(victim, "r+b") as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))
    record("status, one byte changed", run_cmds(tool.status(), repo))
    record("re-snapshot, one byte changed", run_cmds(tool.resnapshot(), repo))
    shutil.rmtree(repo / "data")
    record("checkout into empty tree (copy)", run_cmds(tool.checkout(), repo))
    remote = work / f"{tool.name}-{ds.name}-remote"
    shutil.rmtree(remote, ignore_errors=True)
    tool.add_remote(repo, remote)
    record("push to a directory remote", run_cmds([[tool.exe, "push"]], repo))
    shutil.rmtree(tool.cache_dir(repo))
    shutil.rmtree(repo / "data")
    record("pull from it (empty cache and tree)", run_cmds([[tool.exe, "pull"]], repo))
    shutil.rmtree(remote, ignore_errors=True)
    # As a stage does: every file written afresh (same bytes, new timestamps), then a snapshot,
    # then status at once (files inside the racy-clean window) and again.
    for path in (repo / "data").rglob("*.bin"):
        os.utime(path)
    record("re-snapshot, every file rewritten", run_cmds(tool.resnapshot(), repo))
    record("status right after that snapshot", run_cmds(tool.status(), repo))
    record("status again (repeated)", run_cmds(tool.status(), repo))
    tool.set_hardlink(repo)
    shutil.rmtree(repo / "data")
    record("checkout into empty tree (hardlink)", run_cmds(tool.checkout(), repo))
    record("gc", run_cmds(tool.gc(), repo))
    shutil.rmtree(repo, ignore_errors=True)


WALK = (
    "import os,sys\n"
    "def w(p):\n"
    "    for e in os.scandir(p):\n"
    "        w(e.path) if e.is_dir(follow_symlinks=False) else e.stat()\n"
    "w(sys.argv[1])"
)


def floors(source: Path, work: Path) -> dict[str, Measure]:
    """What the machine takes for the bare work, on the same data, without any tool."""
    packed = work / "floor-packed.bin"
    result = {
        "python scandir+stat walk": timed_isolated([sys.executable, "-c", WALK, str(source)], work),
        "read every file (cat)": timed_isolated(
            ["sh", "-c", f"find '{source}' -type f -exec cat {{}} + > /dev/null"], work
        ),
        "read every file into one file (cat >)": timed_isolated(
            ["sh", "-c", f"find '{source}' -type f -exec cat {{}} + > '{packed}'"], work
        ),
    }
    packed.unlink(missing_ok=True)
    target = work / "floor-copy"
    shutil.rmtree(target, ignore_errors=True)
    result["cp -r into a directory"] = timed_isolated(["cp", "-r", str(source), str(target)], work)
    shutil.rmtree(target, ignore_errors=True)
    result["cp -al (hardlinks)"] = timed_isolated(["cp", "-al", str(source), str(target)], work)
    shutil.rmtree(target, ignore_errors=True)
    return result
