#!/bin/sh
# Make sure a font with Chinese characters is installed, for the browser tests of the Chinese
# edition (tests/browser/test_chinese_edition.py) and for reading it in a browser on Linux.
# Debian's fonts-noto-cjk (Noto Sans/Serif CJK: simplified and traditional Chinese, Japanese,
# Korean). Students on a desktop with Chinese fonts already installed need nothing.
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh-cn family 2>/dev/null | head -n 1)" ]; then
    exit 0
fi
if [ "$(uname -s)" = "Linux" ] && command -v apt-get >/dev/null 2>&1; then
    exec sh "$(dirname "$0")/apt_install.sh" fonts-noto-cjk "the Chinese edition's browser tests"
fi
echo "No font with Chinese characters found (fc-list :lang=zh-cn); the Chinese browser tests skip without one."
exit 0
