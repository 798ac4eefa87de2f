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
    exec sh "$(dirname "$0")/apt_install.sh" bubblewrap "sandboxed autograding"
fi
echo "bubblewrap is not installed: install it (e.g. 'sudo apt-get install bubblewrap') to autograde in a sandbox."
exit 0
