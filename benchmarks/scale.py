#!/usr/bin/env python3
"""The scale tier: a million tiny files, mlv beside DVC and beside the floors.

    python benchmarks/scale.py [--files 1000000] [--dirs 1000] [--tools mlv,dvc] [--merge]
                               [--before benchmarks/scale-before.json] [--ten-million]

Generates N files of about 10 bytes in D directories (about a minute per million), then, in a
fresh repository per tool, on the same generated data: first snapshot (`mlv track` +
`mlv snapshot --no-commit`; `dvc add`), status with nothing changed, status after one changed
file, checkout into an empty tree, push to a directory remote, pull into an empty cache and
tree, verify (mlv only: DVC has none), gc. Each command runs in its own child so its peak RSS is
its own; bytes per file is that peak divided by N. Floors on the same tree: a Python
scandir+stat walk, and reading every file once. `--ten-million` also snapshots and statuses
10,000,000 files with mlv alone (after checking that disk and inodes suffice).

Results are written after every row (scale.json and the section of docs/benchmarks.md between
its markers), so an interrupted run keeps what it measured. `--merge` keeps the results of the
tools not run this time; `--before FILE` shows FILE's mlv figures as a "before" column.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    Measure,
    git_repo,
    mlv_executable,
    own_interpreter,
    sh,
    timed_isolated,
    version_of,
)
from benchmarks.scale_report import Results, write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEN_MILLION = 10_000_000
TOOL_NAMES = {"mlv": "mlv", "dvc": "DVC"}
Record = Callable[[str, Measure], None]


def generate(target: Path, files: int, dirs: int) -> None:
    """``files`` files of about 10 bytes in ``dirs`` directories d0000/f000000.txt..., fast."""
    per_dir = -(-files // dirs)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    made = 0
    for d in range(dirs):
        folder = f"{target}/d{d:04}"
        os.makedirs(folder, exist_ok=True)
        for f in range(min(per_dir, files - made)):
            fd = os.open(f"{folder}/f{f:06}.txt", flags, 0o644)
            os.write(fd, b"%d-%d\n" % (d, f))
            os.close(fd)
        made += per_dir
        if made >= files:
            break


def remove(path: Path) -> None:
    """rm -rf in a child: much faster than shutil.rmtree on a million files."""
    subprocess.run(["rm", "-rf", str(path)], check=True)


FLOOR = (
    "import os\n"
    "def w(p):\n"
    "    for e in os.scandir(p):\n"
    "        if e.is_dir(follow_symlinks=False): w(e.path)\n"
    "        else: {}\n"
    "w('data')\n"
)


def floors(repo: Path, record: Record) -> None:
    record("walk (floor)", timed_isolated([sys.executable, "-c", FLOOR.format("e.stat()")], repo))
    read = "open(e.path,'rb').read()"
    record(
        "read every file (floor)", timed_isolated([sys.executable, "-c", FLOOR.format(read)], repo)
    )


def run_cmds(cmds: list[list[str]], cwd: Path) -> Measure:
    total, peak = 0.0, 0
    for cmd in cmds:
        m = timed_isolated(cmd, cwd)
        total, peak = total + m.wall, max(peak, m.rss_kib)
    return Measure(total, peak)


def init(tool: str, exe: str, repo: Path) -> None:
    git_repo(repo)
    if tool == "mlv":
        sh([exe, "init"], repo)
    else:
        sh([exe, "init", "-q"], repo)
        sh([exe, "config", "core.analytics", "false"], repo)
        sh([exe, "config", "core.autostage", "false"], repo)


def prepare(tool: str, exe: str, repo: Path, files: int, dirs: int) -> None:
    remove(repo)
    init(tool, exe, repo)
    print(f"[{tool}] generating {files:,} files", flush=True)
    start = time.perf_counter()
    generate(repo / "data", files, dirs)
    print(f"[{tool}] generated in {time.perf_counter() - start:.0f} s", flush=True)
    time.sleep(2.1)  # let the files age past any racy-clean window, as real data would be


def scenario(tool: str, exe: str, repo: Path, dirs: int, record: Record, full: bool) -> None:
    """The operations, in order, on the prepared repository (data generated, nothing added)."""
    mlv = tool == "mlv"
    add = (
        [[exe, "track", "data"], [exe, "snapshot", "--no-commit"]]
        if mlv
        else [[exe, "add", "data"]]
    )
    record("first snapshot", run_cmds(add, repo))
    record("status, nothing changed", run_cmds([[exe, "status"]], repo))
    victim = repo / "data" / f"d{dirs // 2:04}" / "f000000.txt"
    original = victim.read_bytes()
    victim.write_bytes(original + b"changed\n")
    record("status, one file changed", run_cmds([[exe, "status"]], repo))
    victim.write_bytes(original)
    if not full:
        return
    remove(repo / "data")
    record("checkout into empty tree", run_cmds([[exe, "checkout", "--force"]], repo))
    remote = repo.parent / f"{repo.name}-remote"
    remove(remote)
    if mlv:
        sh([exe, "remote", "add", "bench", str(remote), "--default"], repo)
    else:
        sh([exe, "remote", "add", "-d", "bench", str(remote)], repo)
    record("push to a directory remote", run_cmds([[exe, "push"]], repo))
    remove(repo / (".mlv/cache" if mlv else ".dvc/cache"))
    remove(repo / "data")
    record("pull into an empty cache and tree", run_cmds([[exe, "pull"]], repo))
    remove(remote)
    if mlv:
        record("verify", run_cmds([[exe, "verify"]], repo))
    gc = [exe, "gc", "--workspace", "--force"] if mlv else [exe, "gc", "-w", "-f"]
    record("gc", run_cmds([gc], repo))


def fits(work: Path, files: int, dirs: int) -> str | None:
    """Why ``files`` tiny files, and mlv's store of them, do not fit under ``work``, or None.
    Counted as a block and an inode per file, 512 bytes per file for the store (packs, their
    index, the stat cache) and 2 GB to spare; the store packs small objects (few inodes)."""
    st = os.statvfs(work)
    need_inodes = files + dirs + 100_000
    need_bytes = files * (st.f_frsize + 512) + 2 * 10**9
    free_inodes, free_bytes = st.f_favail, st.f_bavail * st.f_frsize
    if need_inodes <= free_inodes and need_bytes <= free_bytes:
        return None
    df = "".join(
        subprocess.run([*cmd, str(work)], capture_output=True, text=True, check=False).stdout
        for cmd in (["df", "-h"], ["df", "-i"])
    )
    return (
        f"{files:,} files need about {need_inodes:,} inodes and {need_bytes / 1e9:.0f} GB;"
        f" {work} has {free_inodes:,} inodes and {free_bytes / 1e9:.0f} GB free\n{df}"
    )


def load(path: Path) -> dict[str, object]:
    return json.loads(path.read_text()) if path and path.is_file() else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--dirs", type=int, default=1_000)
    parser.add_argument("--tools", default="mlv,dvc", help="comma-separated: mlv, dvc")
    parser.add_argument("--no-dvc", action="store_true", help="same as --tools mlv")
    parser.add_argument("--merge", action="store_true", help="keep other tools' results")
    parser.add_argument("--before", type=Path, default=HERE / "scale-before.json")
    parser.add_argument("--ten-million", action="store_true", help="mlv on 10M files too")
    parser.add_argument("--report", action="store_true", help="only rewrite the doc from --json")
    parser.add_argument("--mlv", default=mlv_executable())
    bin_dir = Path(sys.executable).parent
    parser.add_argument(
        "--dvc", default=str(bin_dir / "dvc") if (bin_dir / "dvc").exists() else None
    )
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "scale")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=HERE / "scale.json")
    args = parser.parse_args()
    if args.report:
        before = Results.from_json(load(args.before)) if args.before and str(args.before) else None
        write_section(args.out, Results.from_json(load(args.json)), before, args.dirs)
        return 0
    tools = ["mlv"] if args.no_dvc else [t.strip().lower() for t in args.tools.split(",") if t]
    if set(tools) - set(TOOL_NAMES):
        parser.error(f"--tools: unknown {sorted(set(tools) - set(TOOL_NAMES))}")
    exes = {"mlv": args.mlv, "dvc": args.dvc}
    for tool in tools:
        if not exes[tool]:
            parser.error(f"{tool} not found (pip install -e '.[dev]' or --{tool} PATH)")
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work.resolve()
    if args.ten_million and (why := fits(work, TEN_MILLION, args.dirs * 10)):
        print(f"refusing --ten-million: {why}", file=sys.stderr)
        return 2
    results = Results.from_json(load(args.json) if args.merge else {})
    before = Results.from_json(load(args.before)) if args.before and str(args.before) else None

    def save() -> None:
        args.json.write_text(json.dumps(results.to_json(), indent=1) + "\n")
        write_section(args.out, results, before, args.dirs)

    for i, tool in enumerate(tools):
        exe = own_interpreter(exes[tool], work / "bin")
        name = TOOL_NAMES[tool]
        results.start_run(name, args.files, version_of([exe, "--version"]))
        repo = work / f"{tool}-{args.files}"
        prepare(tool, exe, repo, args.files, args.dirs)

        def record(op: str, m: Measure, size: int = args.files, who: str = name) -> None:
            results.add(size, who, op, m)
            print(f"[{who} {size:,}] {op}: {m.wall:.2f} s, {m.rss_kib / 1024:.0f} MiB", flush=True)
            save()

        if i == 0:
            floors(repo, lambda op, m: record(op, m, who="floor"))
        scenario(tool, exe, repo, args.dirs, record, full=True)
        results.finish_run(name, args.files)
        save()
        remove(repo)
    if args.ten_million:
        exe = own_interpreter(args.mlv, work / "bin")
        results.start_run("mlv", TEN_MILLION, version_of([exe, "--version"]))
        repo = work / f"mlv-{TEN_MILLION}"
        prepare("mlv", exe, repo, TEN_MILLION, args.dirs * 10)

        def record10(op: str, m: Measure) -> None:
            results.add(TEN_MILLION, "mlv", op, m)
            print(f"[mlv 10M] {op}: {m.wall:.2f} s, {m.rss_kib / 1024:.0f} MiB", flush=True)
            save()

        scenario("mlv", exe, repo, args.dirs * 10, record10, full=False)
        results.finish_run("mlv", TEN_MILLION)
        save()
        remove(repo)
    print(f"wrote {args.out} and {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
