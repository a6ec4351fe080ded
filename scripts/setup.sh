#!/usr/bin/env bash
# Sets up everything the pipeline needs on a fresh machine, and does nothing when it is already set up:
#   1. Tesseract's rus and eng language data (apt-get where missing; a clear message where there is no apt-get),
#   2. a virtual environment in .venv with the package and its pinned dependencies (requirements/constraints.txt).
# Usage: scripts/setup.sh [--test]   (--test also installs what the tests need: the Python test extra, and
#        Chromium with its driver, DejaVu and Liberation fonts for the browser, Cyrillic-drawing and corpus tests)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="."
[ "${1:-}" = "--test" ] && extras=".[test]"

have_langs() {
  for d in "${PDF_OCR_TESSDATA_DIR:-}" "${TESSDATA_PREFIX:-}" /usr/share/tesseract-ocr/*/tessdata /usr/share/tessdata \
           /usr/local/share/tessdata /opt/homebrew/share/tessdata; do
    [ -n "$d" ] && [ -f "$d/rus.traineddata" ] && [ -f "$d/eng.traineddata" ] && return 0
  done
  return 1
}

apt_install() {  # apt_install PACKAGE... : install with apt-get (sudo when not root); fails with a message
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: installing $* needs root: apt-get install $*" >&2; return 1
    fi
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! have_langs; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Tesseract with Russian and English language data (apt-get)" >&2
    apt_install tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng || exit 1
  elif command -v brew >/dev/null 2>&1; then
    echo "setup: installing Tesseract with language data (Homebrew)" >&2
    brew install tesseract tesseract-lang
  else
    echo "setup: Tesseract 5 with Russian and English language data is needed and no apt-get was found." >&2
    echo "       Install it with your system's package manager (Debian/Ubuntu: apt-get install tesseract-ocr" >&2
    echo "       tesseract-ocr-rus tesseract-ocr-eng; Fedora: dnf install tesseract tesseract-langpack-rus;" >&2
    echo "       macOS: brew install tesseract tesseract-lang), or set PDF_OCR_TESSDATA_DIR to a folder" >&2
    echo "       holding rus.traineddata and eng.traineddata." >&2
    exit 1
  fi
  have_langs || { echo "setup: Tesseract language data still not found after installing" >&2; exit 1; }
fi


if [ "$extras" = ".[test]" ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] ||
                                   [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] ||
                                   [ ! -f /usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf ]; }; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Chromium, its driver and the DejaVu and Liberation fonts for the tests (apt-get)" >&2
    apt_install chromium chromium-driver fonts-dejavu-core fonts-liberation
  else
    echo "setup: no apt-get: the browser tests will be skipped (install chromium and chromedriver to run them)" >&2
  fi
fi

python=""
for candidate in python3.12 python3.11 python3.13 python3.10 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then
    python="$candidate"; break
  fi
done
[ -n "$python" ] || { echo "setup: Python 3.10-3.13 is needed (python3 -V says $(python3 -V 2>&1))" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python -V)" >&2
  "$python" -m venv .venv || { echo "setup: could not create a virtual environment; on Debian/Ubuntu:" \
                                    "apt-get install python3-venv" >&2; exit 1; }
fi

stamp=".venv/.setup-stamp"
want="$extras $(cat pyproject.toml requirements/constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
  echo "setup: installing the package and its pinned dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -c requirements/constraints.txt -e "$extras"
  echo "$want" > "$stamp"
fi
