#!/bin/sh
# mlv-hook-shim v1 -- installed by `mlv hooks install`; remove with `mlv hooks uninstall`.
# HOOK_NAME and INSTALL_PYTHON are filled in at install time.
HOOK_NAME=__HOOK_NAME__
INSTALL_PYTHON=__INSTALL_PYTHON__
here="$(cd "$(dirname "$0")" && pwd)"

# Git gives pre-push its ref list on stdin: keep it for the user's hook and for mlv.
if [ "$HOOK_NAME" = "pre-push" ]; then
    stdin_file="$(mktemp)"
    trap 'rm -f "$stdin_file"' EXIT
    cat > "$stdin_file"
else
    stdin_file=/dev/null
fi

# The hook that was here before mlv's runs first; its failure stops everything, as before.
if [ -x "$here/$HOOK_NAME.mlv-user" ]; then
    "$here/$HOOK_NAME.mlv-user" "$@" < "$stdin_file" || exit $?
fi

# The interpreter mlv was installed with (as pre-commit's own shim does: no extra start-up).
if [ -x "$INSTALL_PYTHON" ]; then
    exec "$INSTALL_PYTHON" -m mlv hooks run "$HOOK_NAME" "$@" < "$stdin_file"
elif command -v mlv > /dev/null 2>&1; then
    exec mlv hooks run "$HOOK_NAME" "$@" < "$stdin_file"
fi

echo "mlv: the $HOOK_NAME hook cannot run because mlv is not installed here." >&2
echo "mlv: install it (pip install mlv) or activate its environment;" \
     "remove the hooks with 'mlv hooks uninstall'." >&2
case "$HOOK_NAME" in
    pre-commit) echo "mlv: to commit anyway, once: git commit --no-verify" >&2; exit 1 ;;
    pre-push) echo "mlv: to push anyway, once: git push --no-verify" >&2; exit 1 ;;
    *) exit 0 ;;
esac
