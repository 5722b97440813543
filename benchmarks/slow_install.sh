#!/usr/bin/env bash
# The slow install tier: the README's two commands on a fresh machine, nothing stood in
# (tests/install/test_install_slow.py): a copy of this checkout, an empty HOME, no torch
# beforehand, no answer on stdin. Takes minutes and ~6 GB of free disk under $TMPDIR (or /tmp);
# prints the figures docs/INSTALL.md quotes (seconds, sizes) and keeps them in $REPORT.
#
#   bash benchmarks/slow_install.sh [REPORT.json]
set -euo pipefail
cd "$(dirname "$0")/.."
REPORT="$(realpath -m "${1:-${TMPDIR:-/tmp}/impasto-slow-install.json}")"
rm -f "$REPORT"
IMPASTO_SLOW_INSTALL=1 IMPASTO_SLOW_INSTALL_REPORT="$REPORT" \
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/install/test_install_slow.py "${@:2}"
echo "figures ($REPORT):"
cat "$REPORT"
