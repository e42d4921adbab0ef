#!/usr/bin/env bash
# The CI check, run on your machine before you push: the same commands as the workflows.
#   examples/ci/check-locally.sh [REV]
set -euo pipefail
rev="${1:-HEAD}"
cd "$(git rev-parse --show-toplevel)"
if mlv remote list | grep -q .; then
    mlv verify --remote "$(mlv remote list | awk 'NR>1 && $NF=="yes" {print $1}' | head -n1)" \
        || echo "(some objects are not on the remote yet: mlv push)"
fi
mlv reproduce "$rev" --check --junit reproduce-report.xml
echo "reproduced: $rev (report: reproduce-report.xml)"
