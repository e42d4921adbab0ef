"""Train a deterministic classifier on the features; write the model and its metrics.

Set IRIS_NONDETERMINISTIC=1 to draw the train/test split from fresh randomness instead of the
seed: the demo uses it to show what `mlv reproduce` reports for a run that does not reproduce.
"""

import json
import os
import pickle
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

params = json.loads(Path("params.json").read_text())
table = pd.read_csv("data/features/features.csv")
X, y = table.drop(columns=["target"]), table["target"]
seed = None if os.environ.get("IRIS_NONDETERMINISTIC") else params["seed"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=seed, stratify=y
)
model = LogisticRegression(C=params["C"], max_iter=500).fit(X_train, y_train)
Path("models").mkdir(exist_ok=True)
with open("models/model.pkl", "wb") as handle:
    pickle.dump(model, handle, protocol=4)
metrics = {"accuracy": round(float(model.score(X_test, y_test)), 6), "rows": len(table)}
Path("metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
print(f"accuracy {metrics['accuracy']} on {len(X_test)} held-out rows")
