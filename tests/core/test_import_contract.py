"""The contract types of our own (scripts/contracts.py) find what they are meant to find."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from scripts.contracts import _function_imports

ROOT = Path(__file__).resolve().parents[2]


def test_function_level_imports_need_a_reason():
    source = textwrap.dedent(
        '''
        import patron.core  # module level: not counted

        def a():
            from patron.core import models

        def b():
            # The app registry is not ready when this module is imported.
            from patron.core import models
            from patron.core import roles

        def c():
            import numpy  # not ours

            from patron.core import (
                models,
            )

        def d():
            from patron.core import models  # optional stack
            from .sibling import thing
        '''
    )
    assert _function_imports(source, "patron") == [
        (5, False),
        (9, True),
        (10, True),
        (15, False),
        (20, True),
        (21, False),
    ]


def _lint(tmp_path: Path, contract: str) -> subprocess.CompletedProcess:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "big.py").write_text("x = 1\n" * 12)
    (package / "lazy.py").write_text("def f():\n    from pkg import big\n")
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent(
            f"""
            [importlinter]
            root_package = pkg
            contract_types =
                module_size: scripts.contracts.ModuleSizeContract
                function_imports: scripts.contracts.FunctionImportsContract

            [importlinter:contract:one]
            name = the contract
            {contract}
            """
        )
    )
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_module_size_breaks_on_a_long_module(tmp_path):
    result = _lint(tmp_path, "type = module_size\n            root = pkg\n            max_lines = 10")
    assert result.returncode == 1, result.stdout
    assert "pkg.big: 12 lines" in result.stdout


def test_function_imports_breaks_on_an_unexplained_one_and_counts(tmp_path):
    result = _lint(tmp_path, "type = function_imports\n            root = pkg")
    assert result.returncode == 1, result.stdout
    assert "[1 in functions]" in result.stdout
    assert "pkg.lazy, line 2" in result.stdout
