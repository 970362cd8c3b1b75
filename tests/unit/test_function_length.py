"""House rule: no function in ``analysis/`` longer than :data:`MAX_FUNCTION_LINES` lines.

A function's length is counted from its ``def`` line to its last line (signature, comments and blank lines
included, nested functions counted in the function that holds them), without its docstring: a long docstring
explains, a long body hides several concerns in one place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit

#: the longest a function in analysis/ may be, docstring lines not counted
MAX_FUNCTION_LINES = 80


def _docstring_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.end_lineno - first.lineno + 1
    return 0


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length without the docstring) of every function and method in *source*."""
    out: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + child.name
                length = child.end_lineno - child.lineno + 1 - _docstring_lines(child)
                out.append((name, child.lineno, length))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return out


def test_the_length_counts_the_signature_and_body_but_not_the_docstring():
    source = (
        "def f(a,\n"
        "      b):\n"
        '    """Two\n'
        '    lines."""\n'
        "    x = a\n"
        "\n"
        "    def g():\n"
        "        return 1\n"
        "    return x + b\n"
        "class C:\n"
        "    def m(self):\n"
        "        pass\n"
    )
    assert function_lengths(source) == [("f", 1, 7), ("f.g", 7, 2), ("C.m", 11, 2)]


def test_no_function_in_analysis_is_longer_than_the_limit():
    files = sorted((ROOT / "analysis").rglob("*.py"))
    assert len(files) > 20
    too_long = [
        f"{path.relative_to(ROOT)}:{line} {name} ({length} lines)"
        for path in files
        for name, line, length in function_lengths(Path(path).read_text(encoding="utf-8"))
        if length > MAX_FUNCTION_LINES
    ]
    assert not too_long, (f"functions over {MAX_FUNCTION_LINES} lines (docstring excluded); split them into "
                          "helpers with one concern each:\n" + "\n".join(too_long))
