#!/usr/bin/env bash
# Install the Debian packages the project needs, when missing: CJK fonts for PDFs,
# HarfBuzz-subset to embed them fast (0.05 s a page instead of 3 s), poppler-utils to
# check them, gettext to compile translations.
# Usage: scripts/system-packages.sh [extra packages...]
set -euo pipefail
wanted=(gettext fonts-noto-cjk poppler-utils libharfbuzz-subset0 "$@")
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
