#!/bin/sh
# Make sure bubblewrap (bwrap) is available for sandboxed autograding.
# Students do not need it; instructors grading on Linux do.
if command -v bwrap >/dev/null 2>&1; then
    exit 0
fi
if [ "$(uname -s)" != "Linux" ]; then
    echo "Sandboxed autograding needs Linux with bubblewrap; grading here will refuse unless run with --unsandboxed."
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ]; then
        echo "Installing bubblewrap (apt-get) for sandboxed autograding..."
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >/dev/null 2>&1; } \
            || echo "Could not install bubblewrap; install it with: sudo apt-get install bubblewrap"
        exit 0
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n apt-get install -y -q bubblewrap >/dev/null 2>&1 || echo "Could not install bubblewrap; install it with: sudo apt-get install bubblewrap"
        exit 0
    fi
fi
echo "bubblewrap is not installed: install it (e.g. 'sudo apt-get install bubblewrap') to autograde in a sandbox."
exit 0
