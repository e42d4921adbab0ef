#!/usr/bin/env bash
# mlv end to end on the iris example, in a fresh temporary git repository.
# Run from the repository root with `make demo` (which installs mlv and scikit-learn first).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/mlv-demo.XXXXXX")"
trap 'echo; echo "demo workspace kept at $work"' EXIT
cp -r "$here/iris/." "$work/"
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "a fresh git repository with the example code"
run git init -q
git config user.name >/dev/null || git config user.name "mlv demo"
git config user.email >/dev/null || git config user.email "demo@mlv.invalid"
run git add -A
run git commit -q -m "iris example code"
run mlv init

step "produce data, features, model and metrics"
run python prepare.py
run python featurize.py
run python train.py

step "track them and take the first snapshot"
run mlv track data/raw data/features models/model.pkl metrics.json
run mlv status
run mlv snapshot -m "baseline: all 150 rows"
baseline_model=$(sha256sum models/model.pkl | cut -d' ' -f1)
baseline_metrics=$(cat metrics.json)

step "the data changes: drop 20 rows per class, retrain"
run python prepare.py --drop 20
run python featurize.py
run python train.py
run mlv status
run mlv snapshot -m "fewer rows"
run mlv log

step "an unsaved edit is protected"
echo "scratch edit" >> metrics.json
printf '$ mlv checkout HEAD~1\n'
if mlv checkout HEAD~1; then echo "checkout should have refused" >&2; exit 1; fi

step "restore the baseline run's files (--force: the scratch edit may go)"
run mlv checkout HEAD~1 --force
test "$(sha256sum models/model.pkl | cut -d' ' -f1)" = "$baseline_model"
test "$(cat metrics.json)" = "$baseline_metrics"
echo "model and metrics are byte-identical to the baseline"
run mlv show HEAD~1

step "and back to the latest"
run mlv checkout HEAD
run mlv status --check
echo
echo "demo finished: snapshot, change, snapshot, checkout old, checkout new all verified"
