"""What the notebooks share: finding the campaign, its two models, the common opening, and small table helpers.

Every report notebook opens the same way: resolve the campaign folder (:func:`resolve_campaign`), load and
normalize it, infer the baseline and candidate (:func:`infer_models`) and switch on inline figures
(:func:`setup_notebook`); the compare and summary notebooks then compare the two models with the same parameters
(:func:`open_comparison`). They close by writing their tables (:func:`save_tables`). The helpers for choosing what
to show (:func:`multi_size_tests`, :func:`showcase_row`, :func:`campaign_overview`) live here too; formatting for
reading is :mod:`analysis.present`, running the notebooks in batch is :mod:`analysis.runner`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analysis.ingest import default_baseline

__all__ = [
    "REPO_ROOT",
    "resolve_campaign",
    "infer_models",
    "setup_notebook",
    "multi_size_tests",
    "showcase_row",
    "campaign_overview",
    "save_tables",
    "Comparison",
    "open_comparison",
]

#: the repository root (the package is installed editable, so notebooks and defaults resolve from here)
REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_campaign(path: str | Path) -> Path:
    """The campaign folder *path* as an absolute path.

    A relative path is looked up from the current directory first, then from the repository root, so the
    notebooks' default ``data/raw/demo`` works both from the repository root (papermill, ``pvfair report``) and from
    ``notebooks/`` (JupyterLab).

    Raises
    ------
    FileNotFoundError
        When no candidate is a folder holding ``manifest.csv``.
    """
    p = Path(path).expanduser()
    candidates = [p] if p.is_absolute() else [Path.cwd() / p, REPO_ROOT / p]
    from analysis.sides import is_sides_folder  # a folder of side folders (one per lab) is a campaign too

    for cand in candidates:
        if cand.is_dir() and ((cand / "manifest.csv").is_file() or is_sides_folder(cand)):
            return cand.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"campaign: {str(path)!r} is not a campaign folder (looked in {looked}); "
        "expected a folder containing manifest.csv"
    )


def infer_models(campaign, baseline: str | None = None, candidate: str | None = None) -> tuple[str, str]:
    """The (baseline, candidate) PV models of *campaign*, filling in whichever is None.

    The campaign must hold exactly two PV models when either is inferred, unless a manifest ``role`` column marks
    both (a campaign with a reference model). Without a choice, the baseline is
    :func:`analysis.ingest.default_baseline`'s (the ``role`` column, else the manifest's first row, else the
    earliest run; documented in the README), the candidate the other model. A named model that the campaign does
    not hold is an error.

    Parameters
    ----------
    campaign : analysis.ingest.Campaign
    baseline, candidate : str or None
    """
    models = sorted(str(m) for m in campaign.runs["pv_model"].dropna().unique())
    for arg, value in (("baseline", baseline), ("candidate", candidate)):
        if value is not None and value not in models:
            raise ValueError(f"{arg}: PV model {value!r} is not in campaign {campaign.name!r}; it holds {models}")
    if baseline is not None and candidate is not None:
        if baseline == candidate:
            raise ValueError(f"candidate: must differ from baseline, both are {baseline!r}")
        return baseline, candidate
    from analysis.sides import marked_roles  # more than two models (a reference): the manifest's role column

    if baseline is None and candidate is None and marked_roles(campaign.runs):
        return marked_roles(campaign.runs)
    if len(models) != 2:
        raise ValueError(
            f"baseline, candidate: campaign {campaign.name!r} holds {len(models)} PV models {models}; "
            "name the baseline and the candidate explicitly"
        )
    if baseline is not None:
        return baseline, next(m for m in models if m != baseline)
    if candidate is not None:
        return next(m for m in models if m != candidate), candidate
    first = default_baseline(campaign, models)
    return first, next(m for m in models if m != first)


def setup_notebook(*, dpi: int = 80) -> None:
    """Make a notebook show :mod:`analysis.plots` figures inline, as PNG at *dpi* (a no-op outside IPython).

    80 dpi suits the screen (and renders a figure about twice as fast as print quality); the summary notebook
    asks for 110 for its PDF.

    The plot functions build :class:`matplotlib.figure.Figure` objects without pyplot, so IPython's inline
    display of a Figure has to be switched on explicitly (``%matplotlib inline``). Figures with a layout engine
    (all of :mod:`analysis.plots` use constrained layout) are drawn once, at their own size (:func:`_inline_png`).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel, a dependency
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:  # not a notebook kernel (a plain shell, a test)
        return
    shell.run_line_magic("matplotlib", "inline")
    from functools import partial

    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png", dpi=dpi)
    shell.display_formatter.formatters["image/png"].for_type(Figure, partial(_inline_png, dpi=dpi))


def _inline_png(fig, *, dpi: int) -> str | None:
    """Base64 PNG of *fig* for inline display (IPython's ``print_figure``), at its own size when it has a layout
    engine: the layout already fits it, and the inline default ``bbox_inches="tight"`` would draw the figure twice
    (once to measure the crop); figures without a layout engine are cropped tight as before."""
    from IPython.core.pylabtools import print_figure

    tight = fig.get_layout_engine() is None
    return print_figure(fig, fmt="png", base64=True, dpi=dpi, bbox_inches="tight" if tight else None)


def multi_size_tests(frame: pd.DataFrame) -> list[str]:
    """Tests of a verdict table (``CompareResult.to_frame()``) compared at more than one message size."""
    if frame.empty or "test" not in frame or "msg_size_bytes" not in frame:
        return []
    sizes = frame.groupby("test")["msg_size_bytes"].nunique()
    return sorted(str(t) for t in sizes.index[sizes > 1])


def showcase_row(frame: pd.DataFrame) -> int:
    """The row of a verdict table worth an estimation plot: the smallest adjusted p-value (first row on ties)."""
    if frame.empty:
        raise ValueError("frame: the verdict table is empty; no cell to show")
    p = pd.to_numeric(frame.get("pvalue_adjusted", pd.Series(np.nan, index=frame.index)), errors="coerce")
    return 0 if p.isna().all() else int(np.nanargmin(p.to_numpy(dtype=float)))


def _unique_join(s: pd.Series) -> str:
    vals = [str(v) for v in pd.unique(s.dropna())]
    return ", ".join(sorted(vals)) if vals else "-"


def campaign_overview(campaign) -> pd.DataFrame:
    """One row per PV model: runs, tools, tests, message sizes, pinning, clock range, hosts and kernels.

    The strings come from the raw files and the manifest; show the frame through pandas' escaping HTML (the
    default ``_repr_html_``) or :func:`analysis.present.html.format_html_table`.
    """
    runs = campaign.runs
    if runs.empty:
        return pd.DataFrame(columns=["pv_model", "runs"])
    rows = []
    for model, g in runs.groupby("pv_model", sort=True, dropna=False):
        mhz = pd.to_numeric(g["cpu_mhz"], errors="coerce").dropna() if "cpu_mhz" in g else pd.Series(dtype=float)
        sizes = sorted(int(v) for v in pd.unique(g["msg_size_bytes"].dropna())) if "msg_size_bytes" in g else []
        rows.append(
            {
                "pv_model": str(model),
                "runs": len(g),
                "tools": _unique_join(g.get("tool", pd.Series(dtype=str))),
                "tests": _unique_join(g.get("test", pd.Series(dtype=str))),
                "msg_sizes_bytes": ", ".join(map(str, sizes)) if sizes else "-",
                "pinning": _unique_join(g.get("pinning", pd.Series(dtype=str))),
                "cpu_mhz_min": float(mhz.min()) if len(mhz) else float("nan"),
                "cpu_mhz_max": float(mhz.max()) if len(mhz) else float("nan"),
                "hosts": _unique_join(g.get("host", pd.Series(dtype=str))),
                "host_kernels": _unique_join(g.get("host_kernel", pd.Series(dtype=str))),
                "guest_kernels": _unique_join(g.get("guest_kernel", pd.Series(dtype=str))),
            }
        )
    return pd.DataFrame(rows)


def save_tables(output_dir: str | Path | None, **tables: pd.DataFrame) -> list[Path]:
    """Write each DataFrame to ``<output_dir>/<name>.csv``; nothing when *output_dir* is None or empty.

    The notebooks call this for every table they produce, so a report's ``tables/`` folder holds them all.

    Returns
    -------
    list of Path
        The files written.
    """
    if output_dir is None or str(output_dir) == "":
        return []
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"save_tables: table {name!r} must be a pandas DataFrame, got {type(frame).__name__}")
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    return written


class Comparison(NamedTuple):
    """The common opening of the compare and summary notebooks (:func:`open_comparison`), unpacked in one line."""

    path: Path  #: the campaign folder
    data: Any  #: the normalized :class:`~analysis.ingest.Campaign`
    baseline: str
    candidate: str
    result: Any  #: the :class:`~analysis.compare.CompareResult`
    verdicts: pd.DataFrame  #: ``result.to_frame()``


def open_comparison(campaign: str | Path, baseline: str | None = None, candidate: str | None = None, *,
                    seed: Any = None, **compare_options: Any) -> Comparison:
    """Load -> normalize -> infer the models -> compare: the opening the compare (04) and summary (06) notebooks
    share, so their verdicts come from one code path with one set of parameters.

    Parameters
    ----------
    campaign : the campaign folder (:func:`resolve_campaign`)
    baseline, candidate : PV models, None to infer them (:func:`infer_models`)
    seed : the comparison's random seed (``compare(rng=seed)``)
    **compare_options : the notebooks' other parameters, passed to :func:`analysis.compare.compare` as they are
        (``metrics``, ``margin``, ``alpha``, ``correction``, ``statistic``, ``n_resamples``)

    Returns
    -------
    Comparison
        ``(path, data, baseline, candidate, result, verdicts)``.
    """
    from analysis.compare import compare
    from analysis.ingest import load_campaign
    from analysis.normalize import normalize

    path = resolve_campaign(campaign)
    data = normalize(load_campaign(path))
    baseline, candidate = infer_models(data, baseline, candidate)
    result = compare(data, baseline=baseline, candidate=candidate, rng=seed, **compare_options)
    return Comparison(path, data, baseline, candidate, result, result.to_frame())
