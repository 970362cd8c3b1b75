"""Several campaigns' reports at once, each a task on a Dask distributed cluster, and the index linking them.

:func:`run_reports` runs :func:`analysis.runner.run_report` per campaign: on a running cluster
(``--scheduler tcp://HOST:8786`` or ``DASK_SCHEDULER_ADDRESS``), on a ``LocalCluster`` of N workers (``--jobs N``), or
one after the other in this process. A failing campaign is reported without stopping the others, and
``reports/index.html`` links each (:func:`analysis.export.write_index`).
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from analysis.export import write_index
from analysis.notebook import resolve_campaign
from analysis.runner import (
    NOTEBOOK_DIR,
    NOTEBOOKS,
    ReportError,
    ReportResult,
    check_report_arguments,
    run_report,
)

__all__ = ["run_reports", "dask_client", "PROGRESS_TOPIC", "SCHEDULER_ENV"]

#: the Dask topic a report task posts its progress to (one event per finished notebook and for the PDF)
PROGRESS_TOPIC = "pvfair-report-progress"


#: the environment variable naming a Dask scheduler when ``--scheduler`` is not given (Dask's own name)
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def _report_task(root: str, out_dir: str, ship: bool, kwargs: Mapping[str, Any]) -> tuple[ReportResult, bytes]:
    """One campaign's report, run on a Dask worker; its progress goes to :data:`PROGRESS_TOPIC`.

    With *ship* the report is written to a temporary folder of the worker's and returned as a tar archive, for a
    client that shares no filesystem with the workers; otherwise it is written to *out_dir* and nothing is sent.
    """
    from distributed import get_worker

    name = Path(root).name
    worker = get_worker()

    def post(step: str) -> None:
        worker.log_event(PROGRESS_TOPIC, {"campaign": name, "step": step})

    if not ship:
        return run_report(root, out_dir=out_dir, progress=False, on_progress=post, **kwargs), b""
    with tempfile.TemporaryDirectory(prefix="pvfair-report-") as tmp:
        result = run_report(root, out_dir=tmp, progress=False, on_progress=post, **kwargs)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(result.report_dir, arcname=name)
        return result, buf.getvalue()


def _unship(result: ReportResult, data: bytes, out: Path) -> ReportResult:
    """Unpack a shipped report under *out* and point the result's paths there."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(out, filter="data")
    old, new = result.report_dir, out / result.campaign

    def move(p: Path | None) -> Path | None:
        return None if p is None else new / Path(p).relative_to(old)

    return replace(result, report_dir=new, notebooks=tuple(map(move, result.notebooks)),
                   html=tuple(map(move, result.html)), tables=tuple(map(move, result.tables)),
                   pdf=move(result.pdf), provenance=move(result.provenance))


@contextmanager
def dask_client(scheduler: str | None = None, *, jobs: int = 1):
    """A ``distributed.Client``: on the cluster at *scheduler* (or ``$DASK_SCHEDULER_ADDRESS``), else on a
    ``LocalCluster`` of *jobs* single-threaded worker processes listening on 127.0.0.1, whose notebook kernels get
    ``cores // jobs`` numba threads each; closed on exit."""
    import logging

    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"scheduler: cannot reach the Dask scheduler at {address!r}: {exc}") from exc
        with client:
            yield client
        return
    # the notebooks' numba kernels share the cores among the workers (Dask's nanny already pins BLAS/OpenMP to 1)
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR,
                      env={"NUMBA_NUM_THREADS": threads}) as cluster, Client(cluster) as client:
        yield client


def _run_on_dask(client, roots: Sequence[Path], out: Path, ship: bool, kwargs: Mapping[str, Any],
                 progress: bool, steps: int) -> tuple[dict[str, ReportResult], dict[str, str]]:
    """Submit one task per campaign, follow each with its own progress bar, collect results and failures."""
    from distributed import as_completed as dask_completed
    from tqdm.auto import tqdm

    bars = {r.name: tqdm(total=steps, desc=r.name, unit="step", position=i, disable=not progress, leave=True)
            for i, r in enumerate(roots)}

    def on_event(event) -> None:
        msg = event[1] if isinstance(event, tuple) else event
        bar = bars.get(msg.get("campaign"))
        if bar is not None:
            bar.set_postfix_str(msg.get("step", ""))
            bar.update(1)

    client.subscribe_topic(PROGRESS_TOPIC, on_event)
    futures = {client.submit(_report_task, str(r), str(out), ship, dict(kwargs), pure=False,
                             key=f"pvfair-report-{r.name}-{os.urandom(4).hex()}"): r.name for r in roots}
    results: dict[str, ReportResult] = {}
    errors: dict[str, str] = {}
    try:
        for fut in dask_completed(list(futures)):
            name = futures[fut]
            try:
                result, data = fut.result()
                results[name] = _unship(result, data, out) if ship else result
            except Exception as exc:  # noqa: BLE001 - a failed campaign is reported; the others go on
                errors[name] = str(exc) if isinstance(exc, ReportError) else f"{type(exc).__name__}: {exc}"
                bars[name].set_postfix_str("failed")
                if progress:
                    tqdm.write(f"pvfair report: {name} failed: {errors[name]}", file=sys.stderr)
    finally:
        client.unsubscribe_topic(PROGRESS_TOPIC)
        for bar in bars.values():
            bar.close()
    return results, errors


def run_reports(
    campaigns: Sequence[str | Path], *, jobs: int = 1, scheduler: str | None = None, ship: bool = False,
    out_dir: str | Path = "reports", progress: bool = True, **kwargs: Any,
) -> tuple[ReportResult, ...]:  # fmt: skip
    """Run :func:`run_report` on several campaigns, each as a task on a Dask cluster, then write the index.

    Parameters
    ----------
    campaigns : raw campaign folders (the workers must see them at the same paths)
    jobs : without a scheduler, ``jobs > 1`` starts a ``distributed.LocalCluster`` of *jobs* worker processes
        (no set-up needed); 1 runs the campaigns one after the other in this process
    scheduler : address of a running Dask scheduler (``tcp://HOST:8786``); default ``$DASK_SCHEDULER_ADDRESS``
    ship : workers write each report to a temporary folder of theirs and send it back, unpacked here under
        *out_dir* (for workers that do not share this filesystem); False: they write to *out_dir* directly,
        which must then be a path they share (``--out``)
    out_dir : the reports folder
    progress : a progress bar per campaign (one step per notebook, and the PDF)

    Every campaign is attempted; when any failed, a :class:`ReportError` lists each failure after the others
    finished and the index was written (a failed campaign is listed there with status ``failed``). The analysis
    runs in each notebook's kernel process, so one single-threaded worker per campaign in flight is enough.
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs: expected a positive integer, got {jobs!r}")
    if not campaigns:
        raise ValueError("campaigns: expected at least one campaign folder")
    roots = [resolve_campaign(c) for c in campaigns]
    names = [r.name for r in roots]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"campaigns: two campaign folders share the name(s) {dupes}; reports would collide")
    # validate parameters once, up front, so a typo fails before any kernel starts
    check_report_arguments(
        roots[0], out_dir, kwargs.get("parameters"), kwargs.get("baseline"), kwargs.get("candidate"),
        kwargs.get("notebooks", NOTEBOOKS), kwargs.get("notebook_dir", NOTEBOOK_DIR),
    )  # fmt: skip
    out = Path(out_dir).resolve()
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    results: dict[str, ReportResult] = {}
    errors: dict[str, str] = {}
    if address is None and (jobs == 1 or len(roots) == 1):
        for root in roots:
            try:
                results[root.name] = run_report(root, out_dir=out, progress=progress, **kwargs)
            except ReportError as exc:
                errors[root.name] = str(exc)
    else:
        steps = len(kwargs.get("notebooks", NOTEBOOKS)) + (1 if kwargs.get("pdf", True) else 0)
        with dask_client(address, jobs=min(jobs, len(roots))) as client:
            results, errors = _run_on_dask(client, roots, out, ship, kwargs, progress, steps)
    write_index(out)
    if errors:
        lines = "\n".join(f"  {name}: {msg}" for name, msg in sorted(errors.items()))
        raise ReportError(f"{len(errors)} of {len(roots)} campaign reports failed:\n{lines}")
    return tuple(results[n] for n in names)
