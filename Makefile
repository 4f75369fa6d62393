# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv on first use.
.PHONY: setup run console test bench migrate

setup:
	bash scripts/setup.sh

run:
	bash scripts/run.sh

console: setup
	.venv/bin/python -m bot console

test:
	bash scripts/test.sh

migrate: setup
	.venv/bin/python -m bot migrate

bench: setup
	.venv/bin/python bench/updates.py --json bench/out/updates.json
