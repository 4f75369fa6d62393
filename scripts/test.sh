#!/usr/bin/env bash
# Set up (once), then the static checks (fail fast), then the whole test suite. Extra arguments go to pytest.
# The checks are configured in pyproject.toml ([tool.ruff], [tool.mypy]); docs/testing.md explains the rule set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "ruff check ." >&2
.venv/bin/ruff check .
echo "mypy (files and strictness: pyproject.toml)" >&2
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
