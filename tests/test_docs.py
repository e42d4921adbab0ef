"""The documentation stands on its own: generated references are current, no link or path leads
outside the repository, and docs/getting-started.md runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlv.cli.docgen import REGENERATE, docs_dir, stale_pages

ROOT = docs_dir().parent
PAGES = [ROOT / "README.md", *sorted(docs_dir().glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")
# Places that exist on a developer's machine, never in a user's checkout.
_OUTSIDE = re.compile(r"(\.\./shared\b|shared/DESIGN\.md|/work/|/home/\w+|/Users/\w+|\.\./\.\./)")


def test_generated_reference_pages_are_current() -> None:
    stale = stale_pages(docs_dir())
    assert stale == [], (
        f"docs/{', docs/'.join(stale)} out of date with the code: run `{REGENERATE}`"
        " (or `make docs`) and commit the result"
    )


def test_the_command_reference_names_every_command() -> None:
    from mlv.cli.main import COMMANDS

    text = (docs_dir() / "commands.md").read_text(encoding="utf-8")
    assert [name for name in COMMANDS if f"## `mlv {name}`" not in text] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_and_paths_stay_inside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    wrong = [m.group(0) for m in _OUTSIDE.finditer(text)]
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # https:, mailto:, an anchor in the same page
        resolved = (page.parent / target.split("#")[0]).resolve()
        if ROOT.resolve() not in resolved.parents or not resolved.exists():
            wrong.append(target)
    assert wrong == [], f"{page.name} points outside the repository or to nothing"


def _script(page: Path) -> str:
    """The page's sh blocks in order, and its python blocks run by python, as one script."""
    parts = ["set -euxo pipefail"]
    for lang, body in re.findall(r"```(sh|python)\n(.*?)```", page.read_text(), re.S):
        parts.append(body if lang == "sh" else f"python - <<'PYEOF'\n{body}PYEOF\n")
    return "\n".join(parts)


@pytest.mark.slow
def test_getting_started_runs_as_written(tmp_path: Path) -> None:
    script = _script(docs_dir() / "getting-started.md")
    assert "mlv reproduce HEAD~1 --check" in script
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "reproduced: 2 output(s) of 1 stage(s) match HEAD~1" in done.stdout
    project = tmp_path / "first-project"
    assert (project / "mlv.lock").exists() and (project / "models/model.json").exists()
