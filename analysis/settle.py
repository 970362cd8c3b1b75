"""Collect until settled: run a plan in rounds and stop each cell once its sequential verdict is reached.

``pvfair collect PLAN --out DIR --until-settled [--min-trials 3] [--max-trials N] [--look-every K]
[--spending pocock]`` runs the plan's warm-up blocks, then measured rounds 1, 2, ... (each round one run of every
(model, cell) still running, in the order the plan's blocked-random schedule draws for that round). After round
``min_trials`` and then every ``look_every`` rounds (and after ``max_trials``, default the plan's ``trials``) it
ingests the folder so far (:func:`analysis.ingest.ingest_campaign`) and decides every cell with the sequential
analysis (:mod:`analysis.sequential`): a cell that is faster, slower or equivalent at its boundary leaves the
following rounds; the others run on up to the maximum. Before the first run it says what the first look can
settle where the campaign's cells cannot lend each other a variance prior (:func:`first_look_note`: 1-3 cells at
3 runs face a far-out early O'Brien-Fleming boundary on their own few df).

The schedule is the plan's (:func:`analysis.collect.build_schedule` with ``trials = max_trials``) with the runs of
settled cells left out: file names and ``order_index`` keep their place in it, and within every round the cells
still running stay randomized and interleaved. Every look is appended to ``metadata_looks.csv`` (one row per
cell x metric tested: statistic, boundary, repeated CI, verdict) and summarized in ``metadata_sequential.json``
(the design, the two models, m, per look the round and the cells settled, and per cell the round at which it
settled). Both names start with ``metadata``, so ingest ignores them and the folder reports as any other.
``--resume`` re-derives the schedule, replays the recorded looks to know which cells were running, redoes a
half-finished run and takes a look that was due but not recorded: the sequence continues exactly.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tqdm.auto import tqdm

from analysis import collect as col
from analysis import sysinfo
from analysis.ingest import ingest_campaign
from analysis.sequential import (
    LOOK_COLUMNS,
    LOOKS_FILE,
    SEQUENTIAL_FILE,
    SequentialDesign,
    first_look_outlook,
    look_statistics,
    sequential_look,
)

#: a plan names its cells by the tool's own test (``tool_test`` of the ingested runs), size and pinning
PLAN_KEY: tuple[str, ...] = ("tool_test", "msg_size_bytes", "pinning")

__all__ = ["collect_until_settled", "first_look_note", "SettleResult", "read_looks", "looks_summary",
           "LooksSummary"]


@dataclasses.dataclass(frozen=True)
class SettleResult:
    """What a sequential collection did: the runs, the looks and per cell the round at which it settled."""

    collect: col.CollectResult
    design: SequentialDesign
    looks: pd.DataFrame
    settled_round: dict[str, int | None]
    skipped: int

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: the round at which it settled (None: ran to the maximum) and its verdicts."""
        rows = []
        for cell, rnd in self.settled_round.items():
            mine = self.looks[self.looks["cell"] == cell]
            last = mine.groupby("metric").tail(1)
            rows.append({"cell": cell, "settled_round": rnd,
                         "verdicts": "; ".join(f"{m}: {v}" for m, v in zip(last["metric"], last["verdict"],
                                                                            strict=True))})
        return pd.DataFrame(rows, columns=["cell", "settled_round", "verdicts"])

    def summary(self) -> str:
        n_done = sum(r is not None for r in self.settled_round.values())
        lines = [self.collect.summary(),
                 f"until settled ({self.design.spending} spending, alpha {self.design.alpha:g}, rounds "
                 f"{self.design.min_trials}..{self.design.max_trials}, a look every {self.design.look_every}): "
                 f"{n_done}/{len(self.settled_round)} cells settled, {self.skipped} runs saved"]
        for _, r in self.to_frame().iterrows():
            at = f"settled after round {r['settled_round']}" if r["settled_round"] else "not settled at the maximum"
            lines.append(f"  {r['cell']}: {at}: {r['verdicts']}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _plan_cell(run: Any) -> tuple[str, str, str]:
    """The plan cell a scheduled run belongs to (its values of :data:`PLAN_KEY`)."""
    return run.test, str(run.msg_size_bytes), run.pinning


def _cell_name(test: str, size: Any, pinning: str) -> str:
    return f"{test} m{size} {pinning}"


def _models(plan: col.Plan) -> tuple[str, str]:
    names = list(plan.models)
    if len(names) != 2:
        raise ValueError(f"{plan.source}: models: --until-settled compares two models; the plan has {len(names)} "
                         f"({', '.join(names)})")
    roles = {m.role: n for n, m in plan.models.items() if m.role}
    baseline = roles.get("baseline") or (names[1] if roles.get("candidate") == names[0] else names[0])
    return baseline, next(n for n in names if n != baseline)


def read_looks(folder: str | Path) -> pd.DataFrame | None:
    """The looks a sequential collection recorded in a campaign folder (None if it has none)."""
    path = Path(folder) / LOOKS_FILE
    if not path.is_file():
        return None
    looks = pd.read_csv(path)
    looks["settled"] = looks["settled"].astype(str).str.lower().eq("true")
    return looks


@dataclasses.dataclass(frozen=True)
class LooksSummary:
    """The looks of a campaign collected until settled, as a report shows them.

    ``table``: per cell and metric the look and round at which it settled (blank: ran to the maximum), its
    verdict, estimate and interval at the boundary (:func:`analysis.plots.looks_table`); ``looks``: every
    recorded look (``metadata_looks.csv``); ``design``: the recorded design (``metadata_sequential.json``, empty
    if absent).
    """

    table: pd.DataFrame
    looks: pd.DataFrame
    design: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def figure(self) -> Any:
        """The looks plot (:func:`analysis.plots.looks_plot`) at the design's margin."""
        from analysis.plots.sequential import looks_plot

        return looks_plot(self.looks, margin=float(self.design.get("margin", 0.05)))


def looks_summary(folder: str | Path) -> LooksSummary | None:
    """The looks recorded in a campaign folder by ``pvfair collect --until-settled`` (None: a fixed design)."""
    from analysis.plots.sequential import looks_table

    looks = read_looks(folder)
    if looks is None or looks.empty:
        return None
    path = Path(folder) / SEQUENTIAL_FILE
    design = json.loads(path.read_text(encoding="utf-8")).get("design", {}) if path.is_file() else {}
    table = looks_table(looks)
    cols = ["cell", "metric", "settled at look", "settled after round", "looks", "verdict", "estimate",
            "interval at the boundary"]
    return LooksSummary(table=table[cols], looks=looks, design=design)


def _write_looks(out: Path, looks: pd.DataFrame) -> None:
    buf = io.StringIO()
    looks.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
    col._atomic_write(out / LOOKS_FILE, buf.getvalue().encode("utf-8"))


def _state_iv(out: Path, design: SequentialDesign, resume: bool) -> dict[str, Any] | None:
    path = out / SEQUENTIAL_FILE
    if not (resume and path.is_file()):
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if state["design"] != design.to_dict():
        raise ValueError(f"--resume: the sequential design differs from the one recorded in {path} "
                         f"({state['design']}); expected the same --min-trials/--max-trials/--look-every/--spending")
    return state


def _take_look(out: Path, state: dict, looks: pd.DataFrame, rnd: int, design: SequentialDesign,
               by_cell: dict[tuple, str]) -> pd.DataFrame:
    campaign = ingest_campaign(out)
    stats = look_statistics(campaign, state["baseline"], state["candidate"], by=PLAN_KEY)
    stats = stats[[tuple(str(r[c]) for c in PLAN_KEY) in by_cell for _, r in stats.iterrows()]]
    if state["m"] is None:
        state["m"] = max(len(stats), 1)
    k = len(state["looks"]) + 1
    rows = sequential_look(stats, design, look=k, round=rnd, m=state["m"], previous=looks if len(looks) else None,
                           by=PLAN_KEY)
    rows.insert(len(PLAN_KEY), "cell", [_cell_name(*(r[c] for c in PLAN_KEY)) for _, r in rows.iterrows()])
    looks = pd.concat([looks, rows], ignore_index=True) if len(looks) else rows
    done = looks[looks["settled"].astype(bool)]
    settled_now = []
    for key, name in by_cell.items():
        if name in state["settled"]:
            continue
        metrics = stats[[tuple(str(r[c]) for c in PLAN_KEY) == key for _, r in stats.iterrows()]]["metric"]
        mine = done[done["cell"] == name]
        if len(metrics) and set(metrics) <= set(mine["metric"]):
            state["settled"][name] = rnd
            settled_now.append(name)
    state["looks"].append({"look": k, "round": rnd, "time": datetime.now(UTC).isoformat(),
                           "tested": sorted(set(rows["cell"])), "settled": settled_now})
    _write_looks(out, looks)
    col._atomic_write(out / SEQUENTIAL_FILE, col._json_bytes(state))
    return looks


def collect_until_settled(plan: col.Plan | str | Path, out: str | Path, *, design: SequentialDesign | None = None,
                          resume: bool = False, progress: bool = True, check_interval_s: float = 0.25,
                          log: Callable[[str], None] | None = None) -> SettleResult:
    """Run *plan* in rounds into *out*, stopping every cell at its sequential boundary (module docstring).

    *design* defaults to ``SequentialDesign(max_trials=plan.trials)``; ``design.max_trials`` replaces the plan's
    ``trials``. Raises as :func:`analysis.collect.collect`, and ValueError for a plan without exactly two models
    or a ``--resume`` with another design.
    """
    plan, out, rows, meta = col._collect_iv(plan, out, resume, progress)
    design = design or SequentialDesign(max_trials=plan.trials, min_trials=min(3, plan.trials))
    if not isinstance(design, SequentialDesign):
        raise TypeError(f"design: expected an analysis.sequential.SequentialDesign, got {type(design).__name__}")
    baseline, candidate = _models(plan)
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    schedule = col.build_schedule(dataclasses.replace(plan, trials=design.max_trials))
    col._check_environment(plan)
    if note := first_look_note(schedule, design):
        say(note)
    out.mkdir(parents=True, exist_ok=True)
    state = _state_iv(out, design, resume) or {
        "design": design.to_dict(), "baseline": baseline, "candidate": candidate, "m": None, "by": list(PLAN_KEY),
        "looks": [], "settled": {}, "rule": "analysis.sequential (Lan-DeMets alpha spending on compare's t "
                                            "statistics of the log metric)"}
    looks = read_looks(out) if resume else None
    looks = looks if looks is not None else pd.DataFrame(columns=[*PLAN_KEY, "cell", *LOOK_COLUMNS])
    by_index = {r.order_index: r for r in schedule}
    rows = [r for r in rows if r.get("order_index", "").isdigit() and int(r["order_index"]) in by_index
            and by_index[int(r["order_index"])].file == r.get("file")]
    done = {int(r["order_index"]) for r in rows}
    removed = col._cleanup_unfinished(out, schedule, done)
    check = sysinfo.system_check(interval_s=check_interval_s)
    say(check.summary())
    meta, invocation = _record_start(plan, out, design, schedule, meta, check, len(done), removed)
    col._atomic_write(out / SEQUENTIAL_FILE, col._json_bytes(state))  # the design is fixed from the start
    run = _Rounds(plan, out, design, schedule, state, rows, done, invocation, say)
    bar = tqdm(total=len(schedule), initial=len(done), desc=f"collect {plan.name} until settled", unit="run",
               disable=not progress)
    models_up: list[col.ModelSpec] = []
    try:
        for model in plan.models.values():
            if resume and model.teardown:
                col._run_shell_list(model.teardown, f"models.{model.name}.teardown", check=False)
            models_up.append(model)
            invocation.setdefault("setup", {})[model.name] = col._run_shell_list(
                model.setup, f"{plan.source}: models.{model.name}.setup", check=True)
        looks = run.all(looks, bar)
    finally:
        bar.close()
        for model in reversed(models_up):
            invocation.setdefault("teardown", {})[model.name] = col._run_shell_list(
                model.teardown, f"models.{model.name}.teardown", check=False)
        invocation["finished"] = datetime.now(UTC).isoformat()
        invocation["runs_executed"] = len(run.executed)
        col._atomic_write(out / col.CAMPAIGN_FILE, col._json_bytes(meta))
    result = col.CollectResult(out=out, plan=plan, planned=len(done), already_done=invocation["runs_done_before"],
                               executed=tuple(run.executed), system_check=check)
    settled = {name: state["settled"].get(name) for name in dict.fromkeys(run.by_cell.values())}
    return SettleResult(collect=result, design=design, looks=looks, settled_round=settled,
                        skipped=len(schedule) - len(done))


def first_look_note(schedule: list, design: SequentialDesign) -> str:
    """What the first look can settle over the schedule's cells (:func:`analysis.sequential.first_look_outlook`):
    a paragraph where no variance prior can be fitted there, else empty."""
    cells = {_plan_cell(r) for r in schedule if not r.warmup}
    return first_look_outlook(design, len(cells)).summary() if cells else ""


def _record_start(plan: col.Plan, out: Path, design: SequentialDesign, schedule: list, meta: dict | None,
                  check: Any, n_done: int, removed: Any) -> tuple[dict, dict]:
    """Write the plan (first start) and the campaign metadata with this invocation; returns (meta, invocation)."""
    uname = platform.uname()
    invocation = {"started": datetime.now(UTC).isoformat(), "resume": meta is not None, "until_settled": True,
                  "runs_done_before": n_done, "removed_unfinished": removed,
                  "session": plan.session or col._boot_session(), "system_check": check.to_dict(),
                  "cpu_snapshot": check.snapshot}
    if meta is None:
        col._atomic_write(out / col.PLAN_FILE, plan.text.encode("utf-8") if plan.text else
                          yaml.safe_dump(dict(plan.raw), sort_keys=False).encode("utf-8"))
        meta = {"collector": "pvfair collect --until-settled", "format": 1, "name": plan.name,
                "plan_file": col.PLAN_FILE, "plan_sha256": plan.sha256,
                "ordering": {"method": plan.ordering, "seed": plan.seed, "blocks": plan.warmup + design.max_trials,
                             "warmup_blocks": plan.warmup,
                             "description": "blocked randomized interleaving over the cells still running; the "
                                            "runs of settled cells are left out (metadata_sequential.json)"},
                "runs_planned": len(schedule), "schedule": [r.file for r in schedule],
                "host": {"node": uname.node, "system": uname.system, "release": uname.release,
                         "machine": uname.machine, "cpu_model": check.snapshot.get("cpu_model")},
                "tool_versions": col._tool_versions(plan), "invocations": []}
    meta["invocations"].append(invocation)
    col._atomic_write(out / col.CAMPAIGN_FILE, col._json_bytes(meta))
    return meta, invocation


class _Rounds:
    """The measured rounds: every round's runs of the cells still running, then the look that is due."""

    def __init__(self, plan, out, design, schedule, state, rows, done, invocation, say):
        self.plan, self.out, self.design, self.schedule, self.state = plan, out, design, schedule, state
        self.rows, self.done, self.say = rows, done, say
        self.session = invocation["session"]
        uname = platform.uname()
        self.host = {"host": uname.node, "kernel": uname.release}
        self.by_cell = {_plan_cell(r): _cell_name(r.test, r.msg_size_bytes, r.pinning) for r in schedule}
        self.executed: list[dict[str, Any]] = []

    def all(self, looks: pd.DataFrame, bar: Any) -> pd.DataFrame:
        looked = {lk["round"] for lk in self.state["looks"]}
        for rnd in range(0, self.design.max_trials + 1):
            block = [r for r in self.schedule if (r.trial == rnd and not r.warmup) or (rnd == 0 and r.warmup)]
            for run in block:
                self._run(run, bar)
            if rnd in self.design.look_rounds and rnd not in looked and len(self.state["settled"]) < len(self.by_cell):
                looks = _take_look(self.out, self.state, looks, rnd, self.design, self.by_cell)
                looked.add(rnd)
                self.say(f"look {len(self.state['looks'])} after round {rnd}: settled "
                         f"{', '.join(self.state['looks'][-1]['settled']) or 'none'}")
        return looks

    def _run(self, run: Any, bar: Any) -> None:
        settled_at = self.state["settled"].get(self.by_cell[_plan_cell(run)])
        if run.order_index in self.done or (settled_at is not None and settled_at < run.trial):
            return
        if col._TERMINATE.is_set():
            raise KeyboardInterrupt("signal 15")
        bar.set_postfix_str(f"round {run.trial} {run.model} {run.test} m{run.msg_size_bytes}", refresh=False)
        row = col._execute(self.plan, run, self.out, self.session, self.host)
        self.rows.append(row)
        col._write_rows(self.out, self.rows)
        self.done.add(run.order_index)
        self.executed.append({k: row[k] for k in ("order_index", "file", "pv_model", "status", "exit_status",
                                                  "elapsed_s")})
        bar.update(1)
        if self.plan.pause_s:
            time.sleep(self.plan.pause_s)
