"""The comment analytics package stands alone: no import cycles, no other Patron package, no
Django, and small modules. Imports are read from the source (including those under
``TYPE_CHECKING`` and inside functions), not from what happens to be loaded."""

import ast
from pathlib import Path

import patron.analytics.text as text_package

PACKAGE = Path(text_package.__file__).parent
ANALYTICS = PACKAGE.parent
NAME = "patron.analytics.text"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as full dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            base = node.module
            if node.level:  # relative to the file's package
                package = path.parent.relative_to(ANALYTICS.parent.parent).parts
                base = ".".join([*package[: len(package) - node.level + 1], node.module])
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def _modules() -> dict[str, Path]:
    return {f"{NAME}.{p.stem}" if p.stem != "__init__" else NAME: p for p in PACKAGE.glob("*.py")}


def test_no_import_cycles_between_the_modules():
    modules = _modules()
    graph = {
        name: {m for m in _imports(path) if m in modules and m not in (name, NAME)}
        for name, path in modules.items()
        if name != NAME
    }
    # depth-first search for a back edge
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle.extend([*path, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*path, node]):
                return True
        state[node] = 2
        return False

    for node in graph:
        if state.get(node) is None and visit(node, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_the_analytics_core_imports_no_other_patron_package_and_no_django():
    for path in ANALYTICS.rglob("*.py"):
        for module in _imports(path):
            assert not module.startswith("django"), f"{path} imports {module}"
            if module.startswith("patron."):
                assert module.startswith("patron.analytics"), f"{path} imports {module}"


def test_modules_are_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= 700, sizes
