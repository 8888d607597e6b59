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
  local extras="${1:-}" spec="." stamp
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  [ -n "$extras" ] && spec=".[$extras]"
  # Reinstall only when the project's metadata changed since the last install.
  stamp=".venv/.goalflow-installed-$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    touch "$stamp"
  fi
}
