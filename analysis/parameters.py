"""Notebook parameters: read a notebook's ``parameters`` cell, convert command-line text to its annotated types.

``pvfair report -p alpha=0.01``, ``pvfair compare -p seed=1`` and ``pvfair history`` all take their parameters from
the notebooks' parameters cells (papermill's inspection of them), converted by the annotated type
(:func:`parse_parameter`), so a command and a notebook take the same values.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["import_jupyter", "notebook_parameters", "parse_parameter", "split_assignments"]


def import_jupyter() -> None:
    """Import nbformat/papermill/nbconvert without ``rfc3987_syntax``.

    jsonschema (imported by nbformat) imports ``rfc3987_syntax`` when installed (a jupyterlab dependency), which
    builds dozens of lark grammars at import: 3 s of CPU per process, for IRI format checks that notebook
    validation never uses. Unless something imported it already, it is marked absent (jsonschema then skips
    those format checkers) before the Jupyter stack is imported.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]
    import nbformat  # noqa: F401
    import papermill  # noqa: F401


def notebook_parameters(notebook: str | Path) -> dict[str, dict[str, str]]:
    """The parameters cell of *notebook*: name -> {"type", "default", "help"} (from papermill's inspection).

    Raises
    ------
    ValueError
        When the notebook has no cell tagged ``parameters``.
    """
    import_jupyter()
    import nbformat
    import papermill as pm

    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise ValueError(f"notebook: {path.name} has no cell tagged 'parameters'")
    return {
        name: {"type": p["inferred_type_name"], "default": p["default"], "help": p["help"]}
        for name, p in pm.inspect_notebook(str(path)).items()
    }


def _to_str(text: str) -> str:
    return str(text)


def _to_int(text: str) -> int:
    return int(str(text).strip())


def _to_float(text: str) -> float:
    return float(str(text).strip())


def _to_bool(text: str) -> bool:
    value = str(text).strip().lower()
    table = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if value not in table:
        raise ValueError(f"expected true/false, found {text!r}")
    return table[value]


def _to_list(text: str) -> list[str]:
    value = str(text).strip()
    if value.startswith("["):
        parsed = ast.literal_eval(value)
        if not isinstance(parsed, list):
            raise ValueError(f"expected a list, found {text!r}")
        return [str(v) for v in parsed]
    return [v.strip() for v in value.split(",") if v.strip()]


def _optional(conv: Callable[[str], Any]) -> Callable[[str], Any]:
    def inner(text: str) -> Any:
        return None if str(text).strip() in {"None", "none", "null", ""} else conv(text)

    return inner


#: parameter type (as annotated in a parameters cell) -> converter from the command-line text
_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "list[str]": _to_list,
    "Optional[str]": _optional(_to_str),
    "Optional[int]": _optional(_to_int),
    "Optional[float]": _optional(_to_float),
    "Optional[list[str]]": _optional(_to_list),
}


def parse_parameter(name: str, text: str, type_name: str) -> Any:
    """Convert the command-line text of parameter *name* to its annotated type *type_name*.

    >>> parse_parameter("alpha", "0.01", "float")
    0.01
    >>> parse_parameter("metrics", "throughput_bps,latency_mean_s", "Optional[list[str]]")
    ['throughput_bps', 'latency_mean_s']
    """
    try:
        conv = _CONVERTERS[type_name]
    except KeyError:
        raise ValueError(
            f"parameter {name!r}: unsupported annotated type {type_name!r}; expected one of {sorted(_CONVERTERS)}"
        ) from None
    try:
        return conv(text)
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"parameter {name!r}: expected {type_name}, found {text!r} ({exc})") from None


def split_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``-p key=value`` texts as a dict (the value kept as text; a later key wins)."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"-p: expected key=value, found {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = value
    return out
