# Sourced by scripts/*: create or reuse .venv and install goalflow into it.
# Usage: . scripts/_venv.sh; ensure_venv [EXTRAS]   (e.g. "test")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "goalflow needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi
ensure_venv() {
  local extras="${1:-}" spec="." stamp modules
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  [ -n "$extras" ] && spec=".[$extras]"
  # A "strict" editable install: a tree of links to the sources under build/, which mypy
  # (and any tool that reads site-packages' .pth paths) sees, unlike the default import
  # hook. Edits show at once; a new or removed module needs a reinstall, so reinstall when
  # the project's metadata or its list of modules changed since the last install.
  stamp=".venv/.goalflow-installed-$extras"
  modules="$(find src projections -type f -not -path '*/__pycache__/*' | LC_ALL=C sort | cksum)"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$(cat "$stamp")" != "$modules" ]
  then
    rm -rf build/__editable__.*
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
      --config-settings editable_mode=strict -e "$spec"
    printf '%s\n' "$modules" > "$stamp"
  fi
}
