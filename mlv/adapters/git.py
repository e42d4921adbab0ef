"""The git adapter: every call mlv makes to git goes through here.

mlv talks to git's plumbing commands directly rather than through GitPython: GitPython spawns the
same ``git`` processes for these operations, and its import alone (~90 ms measured) would exceed
the start-up budget of a git hook. One persistent ``git cat-file --batch`` reads many blobs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlv import faults
from mlv.errors import GitError, NotARepository, UnknownRevision, UsageError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

# Called with (commit, size) before a blob is read; raises to refuse it.
SizeCheck = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class CommitInfo:
    sha: str
    author: str
    date: str
    subject: str


def _git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LC_ALL", "C")
    if extra:
        env.update(extra)
    return env


def find_toplevel(start: Path) -> Path:
    """The root of the git work tree containing ``start``."""
    if shutil.which("git") is None:
        raise UsageError("git is not installed or not on PATH", "install git, then run mlv again")
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=start,
        capture_output=True,
        text=True,
        env=_git_env(),
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise NotARepository(str(start))
    return Path(proc.stdout.strip())


class GitRepo:
    """A git work tree, driven through the ``git`` command."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        input: bytes | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            ["git", *args],
            cwd=self.root,
            capture_output=True,
            input=input,
            env=_git_env(env),
            check=False,
        )
        if check and proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(
                f"git {args[0]} failed: {message[-1] if message else proc.returncode}",
                "run the git command yourself to see the whole message; MLV_DEBUG=1 shows more",
            )
        return proc

    def text(self, *args: str) -> str:
        return self.run(args).stdout.decode().strip()

    # -- revisions and blobs -------------------------------------------------------------------

    def head(self) -> str | None:
        """The commit HEAD points at, or None in a repository without commits."""
        proc = self.run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def resolve(self, rev: str) -> str:
        if rev.startswith("-"):
            raise UnknownRevision(rev)
        proc = self.run(
            ["rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}"], check=False
        )
        if proc.returncode != 0:
            # Say why HEAD cannot be found in a new repository, instead of "give one that exists".
            raise UnknownRevision(rev, no_commits=self.head() is None)
        return proc.stdout.decode().strip()

    def read_blob(
        self, commit: str, path: str, *, check_size: SizeCheck | None = None
    ) -> bytes | None:
        """The content of ``path`` at ``commit``, or None when the commit does not have it."""
        return self.read_blobs([commit], path, check_size=check_size)[commit]

    def read_blobs(
        self, commits: Iterable[str], path: str, *, check_size: SizeCheck | None = None
    ) -> dict[str, bytes | None]:
        """``path`` at each commit, read through one ``git cat-file --batch`` process.

        ``check_size(commit, size)`` runs before a blob is read and may raise: a blob that is
        small in the pack can inflate to gigabytes, and is then refused without being read.
        """
        wanted = list(dict.fromkeys(commits))
        if not wanted:
            return {}
        request = "".join(f"{c}:{path}\n" for c in wanted).encode()
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=self.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_git_env(),
        )
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def send() -> None:
            # A thread of its own: git answers while we still write, and both pipes are finite.
            with contextlib.suppress(BrokenPipeError), stdin:
                stdin.write(request)

        writer = threading.Thread(target=send, daemon=True)
        writer.start()
        result: dict[str, bytes | None] = {}
        try:
            for commit in wanted:
                header = stdout.readline().split()
                if not header:
                    raise GitError(f"git cat-file stopped before answering for {commit[:10]}")
                if len(header) != 3:  # "<name> missing" or "<name> ambiguous"
                    result[commit] = None
                    continue
                size = int(header[2])
                if header[1] != b"blob":  # a directory of that name: no such file
                    _discard(stdout, size + 1)
                    result[commit] = None
                    continue
                if check_size is not None:
                    check_size(commit, size)
                result[commit] = stdout.read(size)
                stdout.read(1)  # the newline after each object
        except BaseException:
            proc.kill()
            raise
        finally:
            stdout.close()
            proc.wait()
            writer.join()
        return result

    def log(
        self, path: str, revs: Sequence[str] = ("HEAD",), limit: int | None = None
    ) -> list[CommitInfo]:
        """Commits reachable from ``revs`` that changed ``path``, newest first."""
        if self.head() is None:
            return []
        args = ["log", "--format=%H%x00%an%x00%aI%x00%s", *revs]
        if limit:
            args.insert(1, f"-n{limit}")
        out = self.run([*args, "--", path]).stdout.decode(errors="replace")
        commits = []
        for line in out.splitlines():
            sha, author, date, subject = line.split("\x00", 3)
            commits.append(CommitInfo(sha, author, date, subject))
        return commits

    def commit_info(self, sha: str) -> CommitInfo:
        """Author, date and subject of one commit."""
        out = self.run(["log", "-n1", "--format=%H%x00%an%x00%aI%x00%s", sha, "--"]).stdout
        full, author, date, subject = out.decode(errors="replace").rstrip("\n").split("\x00", 3)
        return CommitInfo(full, author, date, subject)

    # -- index and work tree -------------------------------------------------------------------

    def tracked_under(self, path: str) -> list[str]:
        """Files git tracks at or below ``path``."""
        out = self.run(["ls-files", "-z", "--", path]).stdout.decode()
        return [p for p in out.split("\x00") if p]

    def untracked_files(self) -> list[str]:
        out = self.run(["ls-files", "-z", "--others", "--exclude-standard"]).stdout.decode()
        return [p for p in out.split("\x00") if p]

    def add(self, paths: Sequence[str]) -> None:
        existing = [p for p in paths if (self.root / p).exists()]
        if existing:
            faults.step("git add")
            self.run(["add", "-A", "--", *existing])

    def has_staged_changes(self) -> bool:
        if self.head() is None:
            return bool(self.run(["ls-files", "-z"]).stdout)
        return self.run(["diff", "--cached", "--quiet"], check=False).returncode != 0

    def has_unstaged_changes(self, exclude: str) -> bool:
        proc = self.run(["diff", "--quiet", "--", ".", f":(exclude){exclude}"], check=False)
        return proc.returncode != 0

    def commit(self, message: str) -> str:
        faults.step("git commit")
        proc = self.run(["commit", "-q", "-m", message], check=False)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
            if any("tell me who you are" in line or "auto-detect email" in line for line in detail):
                # A setup step the user has not taken yet, not a failure of git's (exit 2).
                raise UsageError(
                    "git does not know who you are, so the snapshot could not be committed",
                    'git config --global user.name "Your Name"; git config --global user.email'
                    " you@example.com — then `git commit -m MESSAGE` (mlv.lock is written)",
                )
            raise GitError(
                f"git commit failed: {detail[-1] if detail else proc.returncode}",
                "mlv.lock is written; fix the problem and commit it with git yourself",
            )
        head = self.head()
        assert head is not None
        return head

    def code_tree(self, git_dir_tmp: Path, exclude: str) -> str:
        """The git tree of all tracked files as they are in the work tree, without ``exclude``.

        Computed in a throw-away copy of the index, so the user's staging is left as it was.
        """
        git_dir_tmp.mkdir(parents=True, exist_ok=True)
        tmp_index = git_dir_tmp / f".index.{uuid.uuid4().hex[:12]}.mlv-tmp"  # gc clears debris
        index = Path(self.text("rev-parse", "--git-path", "index"))
        if not index.is_absolute():
            index = self.root / index
        try:
            if index.exists():
                shutil.copyfile(index, tmp_index)
            env = {"GIT_INDEX_FILE": str(tmp_index)}
            self.run(["add", "-u"], env=env)
            self.run(["rm", "--cached", "-q", "--ignore-unmatch", "--", exclude], env=env)
            return self.run(["write-tree"], env=env).stdout.decode().strip()
        finally:
            tmp_index.unlink(missing_ok=True)

    def binary_diff(self, base: str | None, tree: str, exclude: str) -> bytes:
        """``git diff --binary`` from ``base`` (or the empty tree) to ``tree``, less ``exclude``."""
        return self.run(
            [
                "diff",
                "--binary",
                "--full-index",
                base or EMPTY_TREE,
                tree,
                "--",
                ".",
                f":(exclude){exclude}",
            ]
        ).stdout

    # -- worktrees (for reproduce) -------------------------------------------------------------

    def worktree_add(self, path: Path, commit: str) -> None:
        """A detached worktree of ``commit`` at ``path``, sharing this repository's objects."""
        self.run(["worktree", "add", "--quiet", "--detach", str(path), commit])

    def worktree_remove(self, path: Path) -> None:
        """Remove a worktree and its administrative files, even when it holds changes."""
        self.run(["worktree", "remove", "--force", "--force", str(path)], check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        self.run(["worktree", "prune"], check=False)

    def apply(self, patch: bytes) -> None:
        """Apply a binary patch to the work tree and the index."""
        proc = self.run(
            ["apply", "--index", "--binary", "--whitespace=nowarn", "-"], input=patch, check=False
        )
        if proc.returncode != 0:
            # Bad input (a forged patch id, a rewritten base commit), not a failure of git: exit 2.
            raise UsageError(
                "the recorded code patch does not apply: "
                + proc.stderr.decode(errors="replace").strip()[:300],
                "the snapshot's base commit may have been rewritten; reproduce a later snapshot",
            )


def _discard(stream: IO[bytes], size: int) -> None:
    """Read past ``size`` bytes in bounded chunks (a tree object's size is anyone's guess)."""
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            return
        size -= len(chunk)
