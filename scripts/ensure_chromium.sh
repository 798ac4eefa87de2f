#!/bin/sh
# Make sure Debian's chromium is available for the browser tests (tests/browser/).
# Playwright drives it; it cannot download its own browser here. Students do not need it.
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(uname -s)" = "Linux" ] && command -v apt-get >/dev/null 2>&1; then
    exec sh "$(dirname "$0")/apt_install.sh" chromium "the browser tests"
fi
echo "The browser tests need chromium at /usr/bin/chromium; they are skipped without it."
exit 0
