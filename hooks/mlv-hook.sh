#!/bin/sh
# mlv-hook-shim v2 -- installed by `mlv hooks install`; remove with `mlv hooks uninstall`.
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
    "$INSTALL_PYTHON" -m mlv hooks run "$HOOK_NAME" "$@" < "$stdin_file"
    status=$?
elif command -v mlv > /dev/null 2>&1; then
    mlv hooks run "$HOOK_NAME" "$@" < "$stdin_file"
    status=$?
else
    echo "mlv: the $HOOK_NAME hook cannot run because mlv is not installed here." >&2
    echo "mlv: install it (pipx install mlv-cli) or activate its environment;" \
         "remove the hooks with 'mlv hooks uninstall'." >&2
    status=127
fi

# Only pre-commit and pre-push may stop git. When mlv refuses (exit 1) it says why and how to
# bypass; when it could not run or failed, the bypass is said here. post-checkout and post-merge
# run after git's work is done: whatever happens there, git must not report a failure.
case "$HOOK_NAME" in
    pre-commit|pre-push)
        if [ "$status" -ne 0 ] && [ "$status" -ne 1 ] && [ "$status" -ne 130 ]; then
            operation=${HOOK_NAME#pre-}
            echo "mlv: to $operation anyway, once: git $operation --no-verify" >&2
        fi
        exit "$status" ;;
    *)
        if [ "$status" -ne 0 ] && [ "$status" -ne 127 ]; then
            echo "mlv: warning: the $HOOK_NAME hook failed, so the data may not match" \
                 "mlv.lock; run 'mlv checkout' once mlv works here" >&2
        fi
        exit 0 ;;
esac
