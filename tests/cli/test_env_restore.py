"""Environments end to end, offline: a small virtual environment (mlv's runtime and a tiny
package, from wheels made in the test) runs mlv; snapshot with tinypkg 1.0, upgrade to 2.0, then
diff, restore (uv and pip) and reproduce inside the recorded environment, rebuilt and cached."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlv.core.env.capture import fingerprint
from tests.conftest import make_repo
from tests.core.env.wheels import repack, runtime_wheels, small_venv, tiny_wheel

pytestmark = pytest.mark.slow  # each builds a virtual environment and runs mlv in it

DEV_BIN = str(Path(sys.executable).parent)  # where uv is (the restore's installer)


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    runtime_wheels(out)
    repack(out, "pip")
    tiny_wheel(out, "1.0")
    tiny_wheel(out, "2.0")
    return out


class Env:
    """A project whose mlv runs from a small virtual environment, as its user would run it."""

    def __init__(self, root: Path, venv: Path, wheels: Path) -> None:
        self.root, self.venv, self.wheels = root, venv, wheels
        self.environ = {
            **os.environ,
            "PATH": os.pathsep.join([str(venv / "bin"), DEV_BIN, os.environ["PATH"]]),
            "VIRTUAL_ENV": str(venv),
            "MLV_ENV_CACHE": str(root.parent / "env-cache"),
            "MY_API_TOKEN": "tok-s3cret-in-the-environment",  # never recorded anywhere
        }

    def mlv(self, *args: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), "-m", "mlv", *args],
            cwd=self.root,
            env=self.environ,
            capture_output=True,
            text=True,
        )
        if code is not None:
            assert done.returncode == code, done.stdout + done.stderr
        return done

    def install(self, *requirements: str) -> None:
        subprocess.run(
            [os.path.join(DEV_BIN, "uv"), "pip", "install", "-q", "--python",
             str(self.venv / "bin" / "python"), "--no-index", "--find-links", str(self.wheels),
             *requirements],
            check=True,
        )  # fmt: skip

    @property
    def offline(self) -> list[str]:
        return ["--no-index", "--find-links", str(self.wheels)]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """The project every test starts from, made once per session (copies are cheap): snapshot
    with tinypkg 1.0 after a run of the stage, then tinypkg upgraded to 2.0."""
    base = tmp_path_factory.mktemp("env-template")
    gitconfig = base / "gitconfig"
    gitconfig.write_text("[user]\n\tname = mlv tests\n\temail = tests@mlv.invalid\n")
    with pytest.MonkeyPatch.context() as patch:  # the isolation of tests/conftest.py
        for name, value in {
            "HOME": str(base), "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
            "NO_COLOR": "1", "MLV_CACHE_DIR": None, "MLV_DEBUG": None,
        }.items():  # fmt: skip
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        small_venv(base / "venv", wheels, "tinypkg==1.0")
        project = Env(make_repo(base / "repo"), base / "venv", wheels)
        project.mlv("init")
        stage = 'python -c "import tinypkg; print(tinypkg.__version__)" > version.txt'
        project.mlv("stage", "add", "ver", "-o", "version.txt", "--", stage)
        project.mlv("run")
        assert (project.root / "version.txt").read_text() == "1.0\n"
        project.mlv("snapshot", "-m", "with tinypkg 1.0")
        project.install("tinypkg==2.0")
    return base


@pytest.fixture
def env(tmp_path: Path, template: Path, wheels: Path) -> Env:
    # A virtual environment runs from a copy: its interpreter is a symlink and finds its
    # pyvenv.cfg beside itself; only its scripts (unused here) name the old path.
    for name in ("repo", "venv"):
        shutil.copytree(template / name, tmp_path / name, symlinks=True)
    return Env(tmp_path / "repo", tmp_path / "venv", wheels)


def _python_of(venv: Path) -> str:
    code = "import tinypkg; print(tinypkg.__version__)"
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_diff_shows_the_upgrade(env: Env) -> None:
    shown = env.mlv("env", "diff").stdout
    assert "packages upgraded (1):" in shown and "~ tinypkg 1.0 -> 2.0" in shown
    data = json.loads(env.mlv("env", "diff", "--json").stdout)
    assert data["packages"]["upgraded"] == [{"name": "tinypkg", "old": "1.0", "new": "2.0"}]
    assert data["same"] is False and data["old"] == "HEAD" and data["new"] == "current"
    status = json.loads(env.mlv("status", "--json").stdout)["environment"]
    assert status["packages_upgraded"] == 1 and status["changed"] is True
    shown = json.loads(env.mlv("env", "show", "--json").stdout)
    assert "tinypkg==1.0" in shown["environment"]["packages"]


def test_restore_with_uv_holds_the_recorded_version(env: Env, tmp_path: Path) -> None:
    target = tmp_path / "restored"
    private = "https://reader:pw-s3cret@127.0.0.1:9/simple"  # ignored: --no-index
    done = env.mlv("env", "restore", "HEAD", "--venv", str(target), "--installer", "uv",
                   "--extra-index-url", private, *env.offline)  # fmt: skip
    assert "restored:" in done.stdout
    assert _python_of(target) == "1.0"
    marker = json.loads((target / "mlv-env.json").read_text())
    assert marker["installer"] == "uv" and marker["fingerprint"].startswith("xxh128:")
    assert "127.0.0.1:9/simple" in json.dumps(marker) and "pw-s3cret" not in json.dumps(marker)
    # Secrets of the environment reach neither mlv.lock nor the restored environment's marker.
    assert "tok-s3cret" not in (env.root / "mlv.lock").read_text() + json.dumps(marker)
    again = env.mlv("env", "restore", "HEAD", "--venv", str(target), *env.offline)
    assert "already restored" in again.stdout


def test_restore_with_pip_holds_the_recorded_version(env: Env, tmp_path: Path) -> None:
    env.install("pip")  # the running mlv's pip installs into the new environment
    target = tmp_path / "restored"
    env.mlv("env", "restore", "HEAD", "--venv", str(target), "--installer", "pip", *env.offline)
    assert _python_of(target) == "1.0"
    assert json.loads((target / "mlv-env.json").read_text())["installer"] == "pip"


def test_reproduce_in_the_recorded_environment_reuses_the_cache(env: Env) -> None:
    shown = env.mlv("reproduce", code=1).stdout
    assert "environment: current" in shown and "1 package(s) upgraded" in shown
    current = env.mlv("reproduce", "--json", code=1)
    report = json.loads(current.stdout)
    assert report["environment_used"]["kind"] == "current"
    assert report["environment"]["packages_changed"][0]["current"] == "2.0"

    # A build killed earlier left its directory, marked as building: it is not used, but rebuilt.
    fp = json.loads(env.mlv("env", "show", "--json").stdout)["environment"]["fingerprint"]
    leftover = Path(env.environ["MLV_ENV_CACHE"]) / fp.removeprefix("xxh128:")
    (leftover / "bin").mkdir(parents=True)
    (leftover / ".mlv-building").write_text("12345\n")
    listed = json.loads(env.mlv("env", "cache", "list", "--json").stdout)["environments"]
    assert [e["ready"] for e in listed] == [False]

    first = json.loads(env.mlv("reproduce", "--env", "recorded", "--json", *env.offline).stdout)
    assert first["reproduced"] is True
    assert first["environment_used"]["kind"] == "recorded"
    assert first["environment_used"]["built"] is True
    assert first["environment"]["changed"] is False

    junit = env.root.parent / "junit.xml"
    second = env.mlv("reproduce", "--env", "recorded", "--junit", str(junit))
    assert "(cached," in second.stdout and "reproduced:" in second.stdout
    assert 'name="environment" value="recorded xxh128:' in junit.read_text()
    listed = json.loads(env.mlv("env", "cache", "list", "--json").stdout)["environments"]
    assert [e["ready"] for e in listed] == [True]
    assert listed[0]["rev"] == "HEAD" and len(listed[0]["commit"]) == 40
    assert f"built from {listed[0]['commit'][:10]}" in env.mlv("env", "cache", "list").stdout
    env.mlv("env", "cache", "remove", listed[0]["fingerprint"][7:19])
    assert json.loads(env.mlv("env", "cache", "list", "--json").stdout)["environments"] == []


def _edit_record(env: Env, **python: str) -> None:
    """Rewrite HEAD's environment record as another machine could have written it (with a
    matching fingerprint), and commit it."""
    lock_path = env.root / "mlv.lock"
    doc = json.loads(lock_path.read_text())
    doc["environment"]["python"].update(python)
    from mlv.model.manifest import decode_lock, encode_lock

    lock = decode_lock(json.dumps(doc).encode())
    import msgspec

    assert lock.environment is not None
    record = msgspec.structs.replace(lock.environment, fingerprint=fingerprint(lock.environment))
    lock_path.write_bytes(encode_lock(msgspec.structs.replace(lock, environment=record)))
    subprocess.run(["git", "commit", "-qam", "edited"], cwd=env.root, check=True)


def test_an_interpreter_that_is_not_installed_is_named(env: Env, tmp_path: Path) -> None:
    _edit_record(env, version="3.4.1")
    done = env.mlv("env", "restore", "HEAD", "--venv", str(tmp_path / "r"), code=2)
    assert "no CPython 3.4.1 interpreter is installed" in done.stderr
    assert "looked in:" in done.stderr and "PATH (" in done.stderr
    assert "uv python install 3.4.1" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()
    done = env.mlv("reproduce", "--env", "recorded", code=2)
    assert "3.4.1" in done.stderr


def test_a_package_that_cannot_be_found_is_named(env: Env, tmp_path: Path) -> None:
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    target = tmp_path / "r"
    done = env.mlv("env", "restore", "HEAD", "--venv", str(target), "--no-index",
                   "--find-links", str(empty), code=2)  # fmt: skip
    assert "cannot be installed" in done.stderr and "Traceback" not in done.stderr
    assert "was not found" in done.stderr or "No matching distribution" in done.stderr
    assert not target.exists()  # a failed restore leaves nothing


def test_a_hand_edited_record_is_refused_before_anything_runs(env: Env, tmp_path: Path) -> None:
    lock_path = env.root / "mlv.lock"
    doc = json.loads(lock_path.read_text())
    doc["environment"]["packages"].append("evil==1; touch /tmp/pwned")
    lock_path.write_text(json.dumps(doc, indent=2))
    subprocess.run(["git", "commit", "-qam", "edited"], cwd=env.root, check=True)
    done = env.mlv("env", "restore", "HEAD", "--venv", str(tmp_path / "r"), code=2)
    assert "not a name==version requirement" in done.stderr and "hint:" in done.stderr
    assert not (tmp_path / "r").exists()


def test_a_killed_restore_is_never_taken_for_a_ready_one(env: Env, tmp_path: Path) -> None:
    env.install("pip")
    target = tmp_path / "r"
    proc = subprocess.Popen(
        [str(env.venv / "bin" / "python"), "-m", "mlv", "env", "restore", "HEAD", "--venv",
         str(target), "--installer", "pip", *env.offline],
        cwd=env.root, env=env.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (target / ".mlv-requirements.txt").exists():  # the installer is running
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (target / "pyvenv.cfg").exists() and not (target / "mlv-env.json").exists()
    from mlv.core.env.restore import ready

    assert ready(target) is None
    # The next restore recognises the leftover, removes it and builds a ready one.
    env.mlv("env", "restore", "HEAD", "--venv", str(target), "--installer", "uv", *env.offline)
    assert ready(target) is not None and _python_of(target) == "1.0"


def test_an_editable_mlv_comes_back_from_the_running_mlv(env: Env, tmp_path: Path) -> None:
    """mlv installed editable (its dist-info says so): the record lists mlv-cli and the writer
    says "editable"; the restore links the running mlv and never asks an index for mlv-cli."""
    import mlv

    purelib = subprocess.run(
        [str(env.venv / "bin" / "python"), "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    info = Path(purelib) / f"mlv_cli-{mlv.__version__}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: mlv-cli\nVersion: {mlv.__version__}\n"
    )
    source = Path(mlv.__file__).resolve().parent.parent
    (info / "direct_url.json").write_text(
        json.dumps({"url": source.as_uri(), "dir_info": {"editable": True}})
    )
    env.install("tinypkg==1.0")
    env.mlv("snapshot", "-m", "with mlv editable")
    lock = json.loads((env.root / "mlv.lock").read_text())
    assert lock["mlv"]["install"] == "editable"
    assert f"mlv-cli=={mlv.__version__}" in lock["environment"]["packages"]
    target = tmp_path / "restored"
    env.mlv("env", "restore", "HEAD", "--venv", str(target), *env.offline)  # --no-index: no mlv-cli
    where = subprocess.run(
        [str(target / "bin" / "python"), "-c", "import mlv; print(mlv.__file__)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where).resolve().parent.parent == source


def _uv_project(env: Env, packages: list[str]) -> None:
    """A uv project (not a package) locking ``packages``, its uv.lock made offline."""
    deps = ", ".join(json.dumps(p) for p in packages)
    (env.root / "pyproject.toml").write_text(
        f'[project]\nname = "proj"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
        f"dependencies = [{deps}]\n[tool.uv]\npackage = false\n"
    )
    subprocess.run(
        [os.path.join(DEV_BIN, "uv"), "lock", "-q", "--offline", *env.offline],
        cwd=env.root, env=env.environ, check=True,
    )  # fmt: skip
    subprocess.run(["git", "add", "pyproject.toml", "uv.lock"], cwd=env.root, check=True)


def test_a_recorded_uv_lock_is_installed_with_uv(env: Env, tmp_path: Path) -> None:
    env.install("tinypkg==1.0")
    packages = json.loads((env.root / "mlv.lock").read_text())["environment"]["packages"]
    _uv_project(env, packages)
    env.mlv("snapshot", "-m", "uv project")
    target = tmp_path / "from-lock"
    done = env.mlv("env", "restore", "HEAD", "--venv", str(target), *env.offline)
    assert "from lockfile uv.lock (uv export)" in done.stdout
    assert _python_of(target) == "1.0"
    # A uv.lock of another state than was installed is not used; the record is, and says why.
    _uv_project(env, [p.replace("tinypkg==1.0", "tinypkg==2.0") for p in packages])
    env.mlv("snapshot", "-m", "lock moved on, environment did not")
    target = tmp_path / "from-record"
    done = env.mlv("env", "restore", "HEAD", "--venv", str(target), *env.offline)
    assert "uv.lock pins other versions than were installed (tinypkg==2.0)" in done.stdout
    assert "from the recorded package list" in done.stdout and _python_of(target) == "1.0"


# A PEP 660 build backend of a few lines (no setuptools, offline): the editable wheel holds a
# .pth file naming the project's directory.
BACKEND = """
import base64, hashlib, os, zipfile

def _line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

def get_requires_for_build_editable(config_settings=None):
    return []

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    info = "myproj-0.1.dist-info"
    files = {
        "myproj.pth": (os.path.abspath(".") + "\\n").encode(),
        f"{info}/METADATA": b"Metadata-Version: 2.1\\nName: myproj\\nVersion: 0.1\\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    name = "myproj-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        record = [_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
        zf.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")
    return name
"""


def _import_myproj(venv: Path) -> tuple[Path, str]:
    code = "import myproj; print(myproj.WHERE); print(myproj.CONST)"
    where, const = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    return Path(where), const


def test_the_project_itself_is_code_not_a_package(env: Env, tmp_path: Path) -> None:
    """An editable install of the repository is recorded as the project; restore installs it
    editable from REV's code (its commit and recorded patch, uncommitted changes included)
    exported into the environment, never from the work tree; reproduce imports it from the
    run's worktree."""
    (env.root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "myproj"\nversion = "0.1"\n'
    )
    (env.root / "backend.py").write_text(BACKEND)
    (env.root / "myproj").mkdir()
    module = env.root / "myproj" / "__init__.py"
    module.write_text('WHERE = __file__\nCONST = "staged"\n')
    subprocess.run(
        ["git", "add", "pyproject.toml", "backend.py", "myproj"], cwd=env.root, check=True
    )
    env.install("tinypkg==1.0", "--no-deps", "-e", str(env.root))
    env.mlv("stage", "add", "where", "-o", "where.txt", "--",
            'python -c "import myproj; print(myproj.WHERE)" > where.txt')  # fmt: skip
    env.mlv("run")
    module.write_text('WHERE = __file__\nCONST = "at the snapshot, uncommitted"\n')
    env.mlv("snapshot", "-m", "the project installed editable")
    snapshot = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=env.root, capture_output=True, text=True, check=True
    ).stdout.strip()
    record = json.loads((env.root / "mlv.lock").read_text())["environment"]
    assert record["sources"] == {"myproj": {"kind": "project"}}
    module.write_text('WHERE = __file__\nCONST = "the work tree, later"\n')

    target = tmp_path / "restored"
    env.mlv("env", "restore", "HEAD", "--venv", str(target), *env.offline)
    where, const = _import_myproj(target)
    assert const == "at the snapshot, uncommitted"
    assert where.resolve() == (target / "mlv-code" / "myproj" / "__init__.py").resolve()
    assert not (target / "mlv-code" / ".git").exists()
    assert json.loads((target / "mlv-env.json").read_text())["commit"] == snapshot
    assert not list((env.root / ".mlv" / "tmp").glob("env-code-*"))  # its worktree is gone
    assert (
        "env-code-"
        not in subprocess.run(
            ["git", "worktree", "list"], cwd=env.root, capture_output=True, text=True, check=True
        ).stdout
    )

    # Another snapshot of the same record with other code: the directory holds the old code.
    module.write_text('WHERE = __file__\nCONST = "second snapshot"\n')
    env.mlv("snapshot", "-m", "other code, same environment")
    again = env.mlv("env", "restore", "HEAD", "--venv", str(target), *env.offline, code=2)
    assert "holds the code of another revision" in again.stderr
    env.mlv("env", "restore", "HEAD", "--venv", str(target), "--force", *env.offline)
    assert _import_myproj(target)[1] == "second snapshot"
    shown = env.mlv("env", "restore", "HEAD", "--venv", str(target), *env.offline).stdout
    assert "already restored" in shown

    args = ["reproduce", "--env", "recorded", "--keep-workdir", "--json", *env.offline]
    report = json.loads(env.mlv(*args, code=None).stdout)
    workdir = Path(report["workdir"])
    assert (workdir / "where.txt").read_text().strip() == str(workdir / "myproj" / "__init__.py")


def test_two_reproduces_at_once_build_the_environment_once(env: Env) -> None:
    args = [str(env.venv / "bin" / "python"), "-m", "mlv", "reproduce", "--env", "recorded",
            "--json", *env.offline]  # fmt: skip
    procs = [
        subprocess.Popen(args, cwd=env.root, env=env.environ, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    reports = [json.loads(p.communicate()[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sorted(r["environment_used"]["built"] for r in reports) == [False, True]
    assert all(r["reproduced"] for r in reports)


def test_the_report_shows_the_upgrade_and_the_changed_pin(env: Env, tmp_path: Path) -> None:
    """Two snapshots whose records really differ (tinypkg 1.0 then 2.0 installed, the pin of
    requirements.txt changed with it): the report's environment section names both."""
    from tests.cli.test_report import Page

    for version in ("1.0", "2.0"):
        env.install(f"tinypkg=={version}")
        (env.root / "requirements.txt").write_text(f"tinypkg=={version}\n")
        subprocess.run(["git", "add", "requirements.txt"], cwd=env.root, check=True)
        env.mlv("snapshot", "-m", f"tinypkg {version} pinned")
    out = tmp_path / "report.html"
    subprocess.run(  # the report reads records only: mlv of the tests' environment writes it
        [sys.executable, "-m", "mlv", "report", "-o", str(out)], cwd=env.root, check=True
    )
    page = Page(out.read_text())
    assert len(page.find("table", id="environment-diff")) == 1
    rows = [r["data-kind"] for r in page.find("tr") if "data-kind" in r]
    assert rows.count("upgraded") == 1 and rows.count("pin") == 1, rows
    text = "".join(page.text)
    assert "package upgradedtinypkg1.02.0" in text
    assert "lockfile modifiedrequirements.txt" in text
    assert "pin in requirements.txttinypkg==1.0==2.0" in text


def _reproduce(env: Env, *args: str) -> dict[str, object]:
    done = env.mlv("reproduce", "--env", "recorded", "--json", *args, *env.offline, code=None)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_another_interpreter_is_cached_apart_and_reported(env: Env) -> None:
    from mlv.core.env.interpreters import probe

    other = Path("/usr/bin/python3.11")
    found = probe(other) if other.exists() else None
    recorded = json.loads(env.mlv("env", "show", "--json").stdout)["environment"]["python"]
    if found is None or found.version == recorded["version"]:
        pytest.skip("needs a second interpreter of another version at /usr/bin/python3.11")
    first = _reproduce(env, "--python", str(other))
    used, drift = first["environment_used"], first["environment"]
    assert isinstance(used, dict) and isinstance(drift, dict)
    assert used["python"] == found.version and used["built"] is True
    assert drift["python"] == [f"CPython {recorded['version']}", f"CPython {found.version}"]
    assert drift["changed"] is True
    # Without --python: the recorded interpreter, in an entry of its own (not the one above).
    second = _reproduce(env)
    used, drift = second["environment_used"], second["environment"]
    assert isinstance(used, dict) and isinstance(drift, dict)
    assert used["built"] is True and used["python"] == recorded["version"]
    assert drift["python"] is None and second["reproduced"] is True
    again = env.mlv("reproduce", "--env", "recorded", "--python", str(other), *env.offline,
                    code=None).stdout  # fmt: skip
    assert f"(cached, with CPython {found.version} instead of CPython" in again
    listed = json.loads(env.mlv("env", "cache", "list", "--json").stdout)["environments"]
    assert sorted(e["python"] for e in listed) == sorted([found.version, recorded["version"]])


def test_two_restores_into_one_directory_wait_for_each_other(env: Env, tmp_path: Path) -> None:
    target = tmp_path / "r"
    args = [str(env.venv / "bin" / "python"), "-m", "mlv", "env", "restore", "HEAD", "--venv",
            str(target), *env.offline]  # fmt: skip
    procs = [
        subprocess.Popen(
            args,
            cwd=env.root,
            env=env.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted("already restored" in out for out, _ in outs) == [False, True]
    from mlv.core.env.restore import ready

    assert ready(target) is not None and _python_of(target) == "1.0"


def _processes_naming(path: Path) -> list[str]:
    """The command lines of running processes that name ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and str(path) in line:
            found.append(line)
    return found


def _wait_for(path_of: object, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not callable(path_of) or not path_of():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.5)


def test_an_interrupted_build_stops_its_installer_and_is_recovered(
    env: Env, tmp_path: Path
) -> None:
    env.install("pip")  # pip re-runs itself under the new environment's interpreter
    target = tmp_path / "r"
    command = [str(env.venv / "bin" / "python"), "-m", "mlv"]
    proc = subprocess.Popen(
        [*command, "env", "restore", "HEAD", "--venv", str(target), "--installer", "pip",
         *env.offline],
        cwd=env.root, env=env.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for(lambda: (target / ".mlv-requirements.txt").exists(), proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait() == 130
    assert _processes_naming(target) == []  # the installer (and pip's inner pip) waited for
    time.sleep(1.0)  # an installer left running would write on
    assert not target.exists()

    # kill -9 while the cache builds: the installer holds the build's lock until it is gone,
    # and the next reproduce replaces what was left.
    cache = Path(env.environ["MLV_ENV_CACHE"])
    proc = subprocess.Popen(
        [*command, "reproduce", "--env", "recorded", "--installer", "pip", *env.offline],
        cwd=env.root, env=env.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for(lambda: any(cache.glob("*/.mlv-requirements.txt")), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    listed = json.loads(env.mlv("env", "cache", "list", "--json").stdout)["environments"]
    assert [e["ready"] for e in listed] == [False]
    report = _reproduce(env)
    used = report["environment_used"]
    assert isinstance(used, dict) and used["built"] is True and report["reproduced"] is True

    # A leftover without its building mark (an old mlv's, or an installer that wrote on after
    # the directory was removed) is replaced too, never refused.
    entry = Path(str(used["path"]))
    for child in entry.iterdir():
        if child.name != "lib":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    listed = json.loads(env.mlv("env", "cache", "list", "--json").stdout)["environments"]
    assert [e["ready"] for e in listed] == [False]
    report = _reproduce(env)
    assert report["reproduced"] is True


def test_a_damaged_cached_environment_is_rebuilt(env: Env) -> None:
    first = _reproduce(env)
    used = first["environment_used"]
    assert isinstance(used, dict) and first["reproduced"] is True
    entry = Path(str(used["path"]))
    for package in entry.glob("lib/python*/site-packages/tinypkg*"):
        shutil.rmtree(package)
    second = env.mlv("reproduce", "--env", "recorded", *env.offline)
    assert "rebuilt" in second.stdout and "tinypkg" in second.stdout
    assert "reproduced:" in second.stdout
    (entry / "bin" / "python").unlink()
    third = _reproduce(env)
    used = third["environment_used"]
    assert isinstance(used, dict) and used["built"] is True and third["reproduced"] is True
    assert any("does not run" in n for n in used["notes"])  # type: ignore[attr-defined]
    restored = env.root.parent / "restored"
    env.mlv("env", "restore", "HEAD", "--venv", str(restored), *env.offline)
    (restored / "bin" / "python").unlink()
    again = env.mlv("env", "restore", "HEAD", "--venv", str(restored), *env.offline)
    assert "rebuilt" in again.stdout and _python_of(restored) == "1.0"
