#!/bin/sh
# apt_install.sh PACKAGE PURPOSE: install a Debian package with apt-get when we are root (or
# have password-less sudo); otherwise say how. Never fails: callers decide what to do without it.
pkg="$1"; purpose="$2"
if [ "$(id -u)" = "0" ]; then
    echo "Installing $pkg (apt-get) for $purpose..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >/dev/null 2>&1; } \
        || echo "Could not install $pkg; install it with: sudo apt-get install $pkg"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n apt-get install -y -q "$pkg" >/dev/null 2>&1 || echo "Could not install $pkg; install it with: sudo apt-get install $pkg"
else
    echo "$pkg is not installed: install it (e.g. 'sudo apt-get install $pkg') for $purpose."
fi
exit 0
