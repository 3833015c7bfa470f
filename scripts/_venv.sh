# Sourced by scripts/run and scripts/test: make .venv if missing, install a requirements file
# when it changed since the last install, and put the venv first on PATH.
# Usage: ensure_venv requirements.txt
ensure_venv() {
  local requirements="$1"
  local python="${AAIE_PYTHON:-}"
  if [ -z "$python" ]; then
    python="$(command -v python3.11 || command -v python3)"
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $python"
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed-$(basename "$requirements")"
  local wanted
  wanted="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "Installing $requirements into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r "$requirements"
    echo "$wanted" > "$stamp"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
}
