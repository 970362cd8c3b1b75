"""Batch reports: run the notebooks on one campaign with papermill, in one reused kernel, export and record them.

:func:`run_report` (what ``pvfair report data/raw/<campaign>`` does for each campaign)

1. checks every ``-p key=value`` against the parameters cells of the notebooks (papermill itself only warns about
   an unknown parameter; a typo such as ``-p apha=0.01`` would silently run with the default, so it is refused);
2. runs ``notebooks/01_ingest`` ... ``06_summary`` in order (tqdm progress) into ``reports/<campaign>/NN_*.ipynb``,
   one after the other in one kernel whose namespace is reset between them; the notebooks write their tables into
   ``reports/<campaign>/tables/*.csv``;
3. exports each executed notebook to ``NN_*.html`` and the summary notebook, without code, to ``summary.pdf``
   (:mod:`analysis.export`);
4. writes ``provenance.json``: parameters, package versions, git commit, sha256 of every raw input file
   (:mod:`analysis.provenance`).

A failing notebook stops the campaign's batch with a :class:`ReportError` naming the notebook, the failing cell and
its error; the partial executed notebook is kept. Several campaigns at once: :mod:`analysis.fanout`.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.export import export_html, export_pdf
from analysis.notebook import REPO_ROOT, resolve_campaign
from analysis.parameters import notebook_parameters, parse_parameter
from analysis.provenance import provenance

__all__ = ["NOTEBOOK_DIR", "NOTEBOOKS", "WRAPPER_PARAMETERS", "ReportError", "ReportResult", "run_report",
           "check_report_arguments"]

NOTEBOOK_DIR = REPO_ROOT / "notebooks"


#: the notebooks of a report, in the order they run; the last one is exported to ``summary.pdf``
NOTEBOOKS: tuple[str, ...] = ("01_ingest", "02_normalize", "03_audit", "04_compare", "05_model", "06_summary")


#: parameters the wrapper sets itself (from the campaign argument and --out); ``-p`` may not set them
WRAPPER_PARAMETERS: dict[str, str] = {
    "campaign": "the campaign folder is the positional argument",
    "output_dir": "the tables go to <out>/<campaign>/tables; use --out",
}


class ReportError(RuntimeError):
    """A report could not be made: a notebook failed (named, with its failing cell), or an export failed."""


@dataclass(frozen=True)
class ReportResult:
    """What one ``pvfair report`` run on one campaign produced.

    Attributes
    ----------
    campaign : campaign name (raw folder name)
    report_dir : ``<out>/<campaign>``
    parameters : the parameters passed to the notebooks (union over notebooks)
    notebooks, html, tables : paths written, in order
    pdf : the summary PDF, or None when not made
    provenance : ``provenance.json``
    seconds : (notebook, wall seconds) per executed notebook, then ("pdf", seconds)
    """

    campaign: str
    report_dir: Path
    parameters: Mapping[str, Any]
    notebooks: tuple[Path, ...]
    html: tuple[Path, ...]
    tables: tuple[Path, ...]
    pdf: Path | None
    provenance: Path
    seconds: tuple[tuple[str, float], ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per file written: kind (notebook, html, table, pdf, provenance), name, path, seconds."""
        secs = dict(self.seconds)
        rows = [("notebook", p.stem, str(p), secs.get(p.stem)) for p in self.notebooks]
        rows += [("html", p.stem, str(p), None) for p in self.html]
        rows += [("table", p.stem, str(p), None) for p in self.tables]
        if self.pdf is not None:
            rows.append(("pdf", self.pdf.stem, str(self.pdf), secs.get("pdf")))
        rows.append(("provenance", self.provenance.stem, str(self.provenance), None))
        return pd.DataFrame(rows, columns=["kind", "name", "path", "seconds"])

    def summary(self) -> str:
        total = sum(s for _, s in self.seconds)
        lines = [
            f"pvfair report: campaign {self.campaign!r} -> {self.report_dir}",
            f"  {len(self.notebooks)} notebooks, {len(self.html)} HTML, {len(self.tables)} tables, "
            f"PDF: {self.pdf if self.pdf else 'not made'}",
            f"  wall time {total:.1f} s (" + ", ".join(f"{n} {s:.1f} s" for n, s in self.seconds) + ")",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def check_report_arguments(campaign, out_dir, parameters, baseline, candidate, notebooks, notebook_dir):
    """Check a report's arguments before any kernel starts (:func:`run_report` and, once for all campaigns,
    :func:`analysis.fanout.run_reports`): the campaign folder, the reports folder, the typed parameters, the
    notebook names, their folder and each notebook's parameters cell.

    Raises
    ------
    ValueError
        A parameter no notebook defines, one the wrapper sets itself, one given twice, or text its annotated type
        refuses.
    FileNotFoundError
        A notebook or the campaign folder does not exist.
    """
    root = resolve_campaign(campaign)
    nb_dir = Path(notebook_dir)
    names = tuple(notebooks)
    if not names:
        raise ValueError("notebooks: expected at least one notebook name")
    specs: dict[str, dict[str, dict[str, str]]] = {}
    for name in names:
        path = nb_dir / f"{name}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"notebooks: {path} not found; expected one of {sorted(NOTEBOOKS)}")
        specs[name] = notebook_parameters(path)
    known: dict[str, dict[str, str]] = {}
    for spec in specs.values():
        known.update(spec)
    given = dict(parameters or {})
    for key, value in (("baseline", baseline), ("candidate", candidate)):
        if value is not None:
            if key in given and given[key] != value:
                raise ValueError(f"parameter {key!r}: given both as --{key} and -p {key}=...; give it once")
            given[key] = value
    typed: dict[str, Any] = {}
    for key, value in given.items():
        if key in WRAPPER_PARAMETERS:
            raise ValueError(f"parameter {key!r} is set by the wrapper: {WRAPPER_PARAMETERS[key]}")
        if key not in known:
            raise ValueError(
                f"parameter {key!r}: unknown; the notebooks' parameters cells define {sorted(known)}"
            )
        typed[key] = parse_parameter(key, value, known[key]["type"]) if isinstance(value, str) else value
    return root, Path(out_dir).resolve(), typed, names, nb_dir.resolve(), specs


#: run in the shared kernel between two notebooks: a fresh user namespace, no figures left open
_RESET_CODE = """get_ipython().run_line_magic("reset", "-f")
import sys as _pvfair_sys
if "matplotlib.pyplot" in _pvfair_sys.modules:
    _pvfair_sys.modules["matplotlib.pyplot"].close("all")
del _pvfair_sys
"""


@contextmanager
def _batch_env():
    """Tell the kernels started meanwhile that this is a batch run (:data:`analysis.explore.BATCH_ENV`): the
    notebooks then show their static figures only, no widgets (nobody is there to pick)."""
    import os

    from analysis.explore import BATCH_ENV

    before = os.environ.get(BATCH_ENV)
    os.environ[BATCH_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(BATCH_ENV, None)
        else:
            os.environ[BATCH_ENV] = before


@contextmanager
def _kernel(kernel_name: str, cwd: Path, shared: bool):
    """A started kernel manager shared by a report's notebooks (None when not *shared*); shut down on exit."""
    if not shared:
        yield None
        return
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(cwd=str(cwd))
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def _reset_namespace(km) -> None:
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(_RESET_CODE, timeout=60, output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            raise ReportError(f"kernel: resetting the namespace between notebooks failed: {reply['content']}")
    finally:
        kc.stop_channels()


def run_report(
    campaign: str | Path,
    *,
    out_dir: str | Path = "reports",
    parameters: Mapping[str, Any] | None = None,
    baseline: str | None = None,
    candidate: str | None = None,
    notebooks: Sequence[str] = NOTEBOOKS,
    notebook_dir: str | Path = NOTEBOOK_DIR,
    kernel_name: str = "python3",
    shared_kernel: bool = True,
    pdf: bool = True,
    progress: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> ReportResult:
    """Run the report notebooks on one campaign and write ``<out_dir>/<campaign>/``.

    Parameters
    ----------
    campaign : path of the raw campaign folder (``data/raw/<name>``)
    out_dir : the reports folder; the campaign's report goes to ``<out_dir>/<name>``
    parameters : notebook parameters (name -> value, or the command-line text, converted by the annotated type);
        a name no notebook defines is refused. Each notebook receives only the parameters it defines.
    baseline, candidate : PV models (None: the notebooks infer them, see :func:`analysis.notebook.infer_models`)
    notebooks : notebook names (without ``.ipynb``) in the order they run; the last one becomes ``summary.pdf``
    notebook_dir : where the notebooks live
    kernel_name : Jupyter kernel; ``python3`` is the interpreter running this function (jupyter_client maps a
        kernel command ``python`` to ``sys.executable``), i.e. the venv's
    shared_kernel : run the notebooks one after the other in one kernel, its user namespace reset between them
        (``%reset -f``), so the scientific stack is imported and compiled once per report instead of once per
        notebook; False gives each notebook a fresh kernel, as papermill alone does. Every notebook is
        self-contained either way (each loads the campaign itself), so the results are the same.
    pdf : export the last notebook, without code, to ``summary.pdf``
    progress : show a tqdm progress bar
    on_progress : called with each step's name (a notebook, then ``pdf``) when it is done (the Dask runner sends
        it to the client's per-campaign progress bars)

    Raises
    ------
    ReportError
        A notebook failed: the message names it, the failing cell and the error; the partial executed notebook is
        kept in the report folder.
    """
    root, out, typed, names, nb_dir, specs = check_report_arguments(
        campaign, out_dir, parameters, baseline, candidate, notebooks, notebook_dir
    )
    report_dir = out / root.name
    tables_dir = report_dir / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    all_params = {"campaign": str(root), "output_dir": str(tables_dir.resolve()), **typed}
    log = _Provenance(report_dir / "provenance.json", root, all_params, names)
    log.write("running")
    executed, html_files = _run_notebooks(
        names, specs, nb_dir, report_dir, log, kernel_name=kernel_name, shared_kernel=shared_kernel,
        progress=progress, on_progress=on_progress,
    )  # fmt: skip
    pdf_path = _summary_pdf(executed[-1], report_dir / "summary.pdf", log, on_progress) if pdf else None
    log.write("complete")
    return ReportResult(
        campaign=root.name,
        report_dir=report_dir,
        parameters=all_params,
        notebooks=tuple(executed),
        html=tuple(html_files),
        tables=tuple(sorted(tables_dir.glob("*.csv"))),
        pdf=pdf_path,
        provenance=log.path,
        seconds=tuple(log.seconds),
    )


class _Provenance:
    """A report's ``provenance.json``, rewritten at each status (running, failed, complete) with the timings so far."""

    def __init__(self, path: Path, root: Path, parameters: Mapping[str, Any], names: Sequence[str]) -> None:
        self.path, self.root, self.parameters, self.names = path, root, parameters, list(names)
        self.seconds: list[tuple[str, float]] = []

    def write(self, status: str, **extra: Any) -> None:
        record = provenance(self.root, self.parameters, status=status, notebooks=self.names,
                            seconds=dict(self.seconds), **extra)
        self.path.write_text(json.dumps(record, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def _run_notebooks(names: Sequence[str], specs: Mapping[str, Mapping[str, Any]], nb_dir: Path, report_dir: Path,
                   log: _Provenance, *, kernel_name: str, shared_kernel: bool, progress: bool,
                   on_progress: Callable[[str], None] | None) -> tuple[list[Path], list[Path]]:
    """Execute the notebooks in order (one shared kernel, its namespace reset between them), each exported to HTML;
    the executed notebooks and the HTML files, in order."""
    from tqdm.auto import tqdm

    executed: list[Path] = []
    html_files: list[Path] = []
    bar = tqdm(names, desc=log.root.name, unit="notebook", disable=not progress, leave=True)
    try:
        with _batch_env(), _kernel(kernel_name, nb_dir, shared_kernel) as km:
            for i, name in enumerate(bar):
                bar.set_postfix_str(name)
                if km is not None and i:
                    _reset_namespace(km)
                params = {k: v for k, v in log.parameters.items() if k in specs[name]}
                engine = {"km": km} if km is not None else {"cwd": str(nb_dir)}
                dst = _execute(name, nb_dir, report_dir, params, kernel_name, engine, log)
                executed.append(dst)
                html_files.append(export_html(dst, report_dir / f"{name}.html"))
                if on_progress is not None:
                    on_progress(name)
    finally:
        bar.close()
    return executed, html_files


def _execute(name: str, nb_dir: Path, report_dir: Path, params: Mapping[str, Any], kernel_name: str,
             engine: Mapping[str, Any], log: _Provenance) -> Path:
    """Run notebook *name* with papermill into the report folder; on failure keep the partial notebook (and its
    HTML when it exports), record the failure and raise a :class:`ReportError` naming the cell and the error."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    dst = report_dir / f"{name}.ipynb"
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(nb_dir / f"{name}.ipynb"), str(dst), parameters=dict(params),
                            kernel_name=kernel_name, progress_bar=False, **engine)
    except PapermillExecutionError as exc:
        log.seconds.append((name, time.perf_counter() - t0))
        first = next((ln for ln in str(exc.source).splitlines() if ln.strip()), "")
        msg = (
            f"notebook {name}.ipynb failed in cell {exc.cell_index} ({first.strip()[:60]!r}): "
            f"{exc.ename}: {exc.evalue}; partial executed notebook kept at {dst}"
        )
        try:
            export_html(dst, report_dir / f"{name}.html")
        except Exception:  # noqa: BLE001 - the HTML of a failed run is a courtesy; the error matters
            pass
        log.write("failed", error=msg)
        raise ReportError(msg) from exc
    log.seconds.append((name, time.perf_counter() - t0))
    return dst


def _summary_pdf(notebook: Path, pdf_path: Path, log: _Provenance,
                 on_progress: Callable[[str], None] | None) -> Path:
    """Export the last executed notebook, without code, to ``summary.pdf``; a failure is a :class:`ReportError`."""
    t0 = time.perf_counter()
    try:
        out = export_pdf(notebook, pdf_path)
    except Exception as exc:  # noqa: BLE001 - re-raised as ReportError naming the step
        log.write("failed", error=f"PDF export failed: {exc}")
        raise ReportError(f"summary.pdf: PDF export of {notebook.name} failed: {exc}") from exc
    log.seconds.append(("pdf", time.perf_counter() - t0))
    if on_progress is not None:
        on_progress("pdf")
    return out
