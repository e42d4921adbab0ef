"""Start-up check: is the package ``mlv`` that runs really this mlv, alone in its directory?

PyPI's ``mlv`` (an unrelated project, 1.0.0 and later) installs a top-level package ``mlv`` too.
Installed into one environment, the two write into the same ``site-packages/mlv/`` directory: the
one installed last owns ``mlv/__init__.py``, and uninstalling either deletes files of the other.
This finds that before any command runs, so the user reads what happened instead of an import
error. It lives in the CLI because it runs before ``mlv --help`` too, which loads no core code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import mlv
from mlv.errors import UsageError
from mlv.model.distribution import DISTRIBUTION, FORMER_NAME

# `mlv-1.3.10.dist-info`, `mlv-1.3.10-py3.11.egg-info`: the distribution `mlv`, not `mlv_cli-...`.
_OTHER_METADATA = re.compile(
    rf"^{FORMER_NAME}-([0-9][^-]*?)(-py[0-9.]+)?\.(dist-info|egg-info)$", re.IGNORECASE
)
_REINSTALL = (
    f"pip uninstall {FORMER_NAME} {DISTRIBUTION}, then pip install {DISTRIBUTION};"
    f" or install mlv as a tool of its own: pipx install {DISTRIBUTION} / uv tool install"
    f" {DISTRIBUTION}"
)


def check_not_clobbered() -> None:
    """UsageError when another distribution named ``mlv`` shares this mlv's package directory.

    Costs one directory listing (the directory that holds the ``mlv`` package), so it can run
    before every command, hooks included.
    """
    package = Path(mlv.__file__ or "mlv/__init__.py").parent
    if getattr(mlv, "__distribution__", None) != DISTRIBUTION:
        raise UsageError(
            f"{package / '__init__.py'} is not mlv's: another package named `mlv` (PyPI's"
            f" unrelated `{FORMER_NAME}`) was installed over this mlv",
            _REINSTALL,
        )
    try:
        with os.scandir(package.parent) as entries:
            found = [m for e in entries if (m := _OTHER_METADATA.match(e.name)) is not None]
    except OSError:
        return
    if found:
        version = found[0].group(1)
        what = (
            f"this project under its former distribution name `{FORMER_NAME}` {version}"
            if version.startswith("0.")
            else f"PyPI's unrelated project `{FORMER_NAME}` {version}"
        )
        raise UsageError(
            f"{package.parent} holds {what} beside {DISTRIBUTION}; both install the package"
            " `mlv`, so each overwrites the other's files and uninstalling one breaks the other",
            _REINSTALL,
        )
