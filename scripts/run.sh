#!/usr/bin/env bash
# Set up (once) and run the bot: polling or webhook with BOT_TOKEN; the offline console without one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m bot run "$@"
