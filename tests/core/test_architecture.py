"""The import rule of docs/architecture.md, checked on the code: every import of every product module (module level,
inside functions, under `TYPE_CHECKING`) read with `ast`. The allowed imports are read from the markdown table, so
the documentation and this test cannot drift apart."""
import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "services", "digests", "models", "storage", "chatkit", "fakes")
THIRD_PARTY_RULED = ("aiogram",)  # third-party packages the table rules on as well
DOC = ROOT / "docs" / "architecture.md"


def imported_modules(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, dotted module name) of every import in the file, relative imports resolved."""
    package = ".".join(path.relative_to(root).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            # `from handlers import errors` imports the module handlers.errors
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def product_imports() -> list[tuple[str, int, str, str]]:
    """(file, line, importing package, imported module) for imports of a product or ruled package."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module in imported_modules(path):
                top = module.split(".")[0]
                if top in PACKAGES + THIRD_PARTY_RULED and top != package:
                    found.append((str(path.relative_to(ROOT)), line, package, module))
    return found


def documented_rule() -> dict[str, set[str]]:
    """The table under "## Layers" in docs/architecture.md: package → the packages it may import."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rule: dict[str, set[str]] = {}
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if not row.startswith("|") or len(cells) < 3 or not cells[0].startswith("`"):
            continue
        package = cells[0].strip("`/")
        rule[package] = {name.strip("/") for name in re.findall(r"`([^`]+)`", cells[-1])}
    return rule


def test_the_documented_table_names_every_product_package_and_only_them():
    rule = documented_rule()
    assert set(rule) == set(PACKAGES)
    for package, allowed in rule.items():
        assert allowed <= set(PACKAGES + THIRD_PARTY_RULED) - {package}, (package, allowed)


def test_every_import_is_allowed_by_the_documented_table():
    rule = documented_rule()
    wrong = [f"{file}:{line}: {package} imports {module}" for file, line, package, module in product_imports()
             if module.split(".")[0] not in rule[package]]
    assert not wrong, "imports the table in docs/architecture.md does not allow:\n" + "\n".join(wrong)


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for _, _, package, module in product_imports():
        if module.split(".")[0] in PACKAGES:
            graph[package].add(module.split(".")[0])
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path (first node repeated at the end), or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target, path + [target])) is not None:
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])) is not None:
            return cycle
    return None


def test_the_package_graph_has_no_cycle():
    assert find_cycle(package_graph()) is None, f"package cycle: {' → '.join(find_cycle(package_graph()) or [])}"


def test_the_documented_table_itself_has_no_cycle():
    rule = documented_rule()
    assert find_cycle({package: allowed & set(PACKAGES) for package, allowed in rule.items()}) is None


def test_no_handler_reaches_sql():
    wrong = [f"{file}:{line}: {module}" for file, line, package, module in product_imports()
             if package == "handlers" and (module == "storage.repo" or module.startswith("storage.repo."))]
    assert not wrong, "handlers call services, not storage.repo:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("graph", "cycle"), [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
])
def test_the_cycle_finder_finds_cycles(graph, cycle):
    assert find_cycle(graph) == cycle


def test_function_level_and_type_checking_imports_are_read(tmp_path):
    """The checker sees the imports a module hides from a quick grep of its first lines."""
    path = tmp_path / "chatkit" / "probe.py"
    path.parent.mkdir()
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.app\n\n"
                    "def f():\n    from handlers import start\n    from . import render\n")
    modules = {module for _, module in imported_modules(path, tmp_path)}
    assert {"bot.app", "handlers", "handlers.start", "chatkit.render"} <= modules


def test_module_docstrings_are_at_most_ten_lines():
    """A module says what it is in a few lines; the long prose lives in docs/*.md (the module names the section)."""
    long = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
            if docstring is not None and len(docstring.splitlines()) > 10:
                long.append(f"{path.relative_to(ROOT)}: {len(docstring.splitlines())} lines")
    assert not long, "module docstrings over 10 lines:\n" + "\n".join(long)
