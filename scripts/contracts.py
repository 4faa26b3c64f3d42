"""Patron's own import-linter contract types (configured in pyproject.toml).

- ``module_size``: no module longer than ``max_lines`` lines, so a module stays one topic.
- ``function_imports``: an ``import patron...`` inside a function hides a dependency from a
  reader of the module's head; each one needs a comment saying why (on its line, or just above
  it or above the group of imports it belongs to). The contract counts them and shows the count
  next to its name.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules


def _module_files(graph: grimp.ImportGraph, root: str, skip: set[str]) -> dict[str, Path]:
    """Source file of every module of ``root`` in the graph, except those under ``skip``."""
    spec = importlib.util.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"Cannot find the package {root}.")
    base = Path(next(iter(spec.submodule_search_locations))).parent
    files: dict[str, Path] = {}
    for module in graph.modules:
        if not (module == root or module.startswith(root + ".")):
            continue
        if any(module == s or module.startswith(s + ".") for s in skip):
            continue
        path = base.joinpath(*module.split("."))
        if (path / "__init__.py").is_file():
            files[module] = path / "__init__.py"
        elif path.with_suffix(".py").is_file():
            files[module] = path.with_suffix(".py")
    return files


def _skipped(contract: Contract, graph: grimp.ImportGraph) -> set[str]:
    expressions = contract.skip_modules or set()  # type: ignore[attr-defined]
    return {m.name for m in module_expressions_to_modules(graph, sorted(expressions))}


class ModuleSizeContract(Contract):
    type_name = "module_size"

    root = fields.StringField()
    max_lines = fields.IntegerField(minimum=1)
    # Module expressions (wildcards allowed) left out, e.g. generated migrations.
    skip_modules = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        limit: int = self.max_lines  # type: ignore[assignment]
        too_long = []
        for module, path in sorted(_module_files(graph, str(self.root), _skipped(self, graph)).items()):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                too_long.append((module, lines))
        return ContractCheck(kept=not too_long, warnings=[], metadata={"too_long": too_long})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error(f"Modules over {self.max_lines} lines:")
        for module, lines in check.metadata["too_long"]:
            output.print_error(f"  {module}: {lines} lines", bold=False)


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or just above it or above the group of imports it is in."""
    if "#" in lines[lineno - 1]:
        return True
    i = lineno - 2
    while i >= 0:
        above = lines[i].strip()
        if above.startswith("#"):
            return True
        # Still inside the group: another import, or the rest of a parenthesised one.
        if above.startswith(("from ", "import ", ")")) or above.endswith(","):
            i -= 1
            continue
        return False
    return False


def _function_imports(source: str, root: str) -> list[tuple[int, bool]]:
    """(line, has a reason) of every import of ``root`` made inside a function body."""
    lines = source.splitlines()
    found: list[tuple[int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                if isinstance(child, ast.Import):
                    names = [alias.name for alias in child.names]
                else:
                    # A relative import inside the package names the package too.
                    names = [root if child.level else (child.module or "")]
                if any(n == root or n.startswith(root + ".") for n in names):
                    found.append((child.lineno, _explained(lines, child.lineno)))
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


class FunctionImportsContract(Contract):
    type_name = "function_imports"

    root = fields.StringField()
    skip_modules = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)
    # Modules whose imports are counted but may lack a reason for now (being reworked).
    allow_unexplained_in = fields.SetField(subfield=fields.ModuleExpressionField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        root = str(self.root)
        allowed_expressions = sorted(self.allow_unexplained_in or set())  # type: ignore[arg-type]
        allowed = {m.name for m in module_expressions_to_modules(graph, allowed_expressions)}
        total = 0
        unexplained: list[tuple[str, int]] = []
        for module, path in sorted(_module_files(graph, root, _skipped(self, graph)).items()):
            for lineno, reason in _function_imports(path.read_text(encoding="utf-8"), root):
                total += 1
                if not reason and module not in allowed:
                    unexplained.append((module, lineno))
        # The count is part of the result line, so a rise shows in every check's output.
        self.name = f"{self.name} [{total} in functions]"
        return ContractCheck(
            kept=not unexplained, warnings=[], metadata={"unexplained": unexplained}
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error(
            f"Imports of {self.root} inside functions without a comment saying why:"
        )
        for module, lineno in check.metadata["unexplained"]:
            output.print_error(f"  {module}, line {lineno}", bold=False)
