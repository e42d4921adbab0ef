"""Generated runs for the experiments table and the report: a stage with params and metrics,
a tracked feature table whose column ``x`` drifts in the last snapshot, and names that carry
HTML (a column, a commit message, a param value) to prove they are escaped."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import MlvRunner, write

SCRIPT = "<script>document.title='pwned'</script>"
TRAIN = (
    "import json, yaml; p = yaml.safe_load(open('params.yaml'));"
    " json.dump({'acc': round(0.5 + p['lr'], 4), 'loss': round(1 - p['lr'], 4)},"
    " open('metrics.json', 'w'))"
)


def features(seed: int, shift: float = 0.0, n: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "k": rng.integers(0, 5, n),
            "city": rng.choice(["oslo", "rome", "lima"], n, p=[0.5, 0.3, 0.2]),
            SCRIPT: rng.normal(0.0, 1.0, n),
        }
    )


def make_runs(project: Path, mlv: MlvRunner, count: int = 4) -> list[str]:
    """``count`` snapshots (lr rising); the last shifts ``x`` by one sigma and says <script>
    in its message and a param value. Returns the commit messages, oldest first."""
    write(project / "params.yaml", "lr: 0.1\nname: base\n")
    features(0).to_parquet(project / "features.parquet", index=False)
    assert mlv("track", "features.parquet", "--kind", "features").code == 0
    added = mlv(
        "stage", "add", "train", "-d", "features.parquet", "-p", "params.yaml",
        "-M", "metrics.json", "-o", "model.txt",
        "--", sys.executable, "-c", TRAIN + "; open('model.txt', 'w').write(str(p))",
    )  # fmt: skip
    assert added.code == 0, added.err
    messages = []
    for i in range(count):
        last = i == count - 1
        name = SCRIPT if last else "base"
        write(project / "params.yaml", f'lr: {0.1 * (i + 1):.1f}\nname: "{name}"\n')
        features(i, shift=1.0 if last else 0.0).to_parquet(
            project / "features.parquet", index=False
        )
        run = mlv("run")
        assert run.code == 0, run.err
        message = f"run {i} {SCRIPT}" if last else f"run {i}"
        snap = mlv("snapshot", "-m", message)
        assert snap.code == 0, snap.err
        messages.append(message)
    return messages
