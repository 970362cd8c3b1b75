"""Published numbers as one side: what a quoted figure can and cannot show against raw runs.

Often one side of a dispute has no raw files, only what it published: "venet 940.77 Mb/s TCP_STREAM, 16384-byte
messages, GigE". A ``published.csv`` in the campaign (or sides) folder stands for such a side, one row per figure:

========================  ==========================================================================================
column                    meaning
========================  ==========================================================================================
``pv_model``              the model the figure is for
``test``                  netperf-style test name (TCP_STREAM, TCP_RR, ...)
``msg_size_bytes``        message size (1 for RR tests)
``metric``                a pvfair metric (``throughput_bps``, ``transactions_per_s``, ``latency_mean_s``, ...)
``value``                 the figure, in the metric's SI unit (bits/s, transactions/s, s); taken as the mean of runs
``sd``                    optional: standard deviation of the runs behind it (same unit)
``min``, ``max``          optional: the range of the runs behind it (used with ``n`` when no ``sd`` is given)
``n``                     optional: runs behind the figure
``host``                  optional: the host it was measured on
``source``                citation (list post, paper, date)
========================  ==========================================================================================

:func:`assess_published` compares each figure with the other model's raw runs of the same test, size and metric
and says, per row, what the figure supports. Every row is marked ``"published, not raw"``.

* **A single number, no spread**: no interval is possible, so no verdict. The row gives the runs that would
  settle it at a stated assumed CV, and the confounds a bare number cannot rule out: the clock and governor,
  pinning, and the host (unless a shared reference was measured on its host).
* **With a spread and n**: a t interval (Welch-Satterthwaite) of the log ratio, taking the runs behind the figure
  as lognormal with the stated mean and sd (sd of the logs ``sqrt(log(1 + (sd/mean)^2))``; from a range, the
  sd is range / d2(n), the expected range of n normal runs). The assumption is stated in the row. The interval is
  still confounded with the host unless the figure's host is the raw side's host.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import integrate
from scipy import stats as sps

from analysis.bridge import runs_for_half_width
from analysis.schema import METRICS

__all__ = ["PUBLISHED_FILE", "PUBLISHED_KIND", "ASSUMED_CV", "read_published", "find_published",
           "PublishedResult", "assess_published", "format_published_html", "expected_range"]

PUBLISHED_FILE = "published.csv"
#: how every published row is marked, wherever it appears
PUBLISHED_KIND = "published, not raw"
#: run-to-run CV assumed for a figure published without spread (planning only, stated in the row)
ASSUMED_CV = 0.03
_REQUIRED = ("pv_model", "test", "msg_size_bytes", "metric", "value", "source")
_NUMERIC = ("msg_size_bytes", "value", "sd", "min", "max", "n")


def read_published(path: str | Path) -> pd.DataFrame:
    """A ``published.csv`` as a validated table; a bad value is an error naming the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: {str(path)!r} is not a file; expected a {PUBLISHED_FILE}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected at least {list(_REQUIRED)}")
    out = raw.copy()
    for col in ("sd", "min", "max", "n", "host"):
        if col not in out.columns:
            out[col] = ""
    for i, row in raw.iterrows():
        line = i + 2
        for col in _REQUIRED:
            if not str(row[col]).strip():
                raise ValueError(f"{path}:{line}: column {col!r} is empty; expected a value")
        if row["metric"] not in METRICS:
            raise ValueError(f"{path}:{line}: metric {row['metric']!r} is not a pvfair metric; expected one of "
                             f"{sorted(METRICS)}")
    for col in _NUMERIC:
        vals = pd.to_numeric(out[col].replace("", np.nan), errors="coerce")
        bad = out[col].ne("") & vals.isna()
        bad |= vals.le(0) & out[col].ne("") & (col != "sd")
        bad |= vals.lt(0) & out[col].ne("")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{path}:{i + 2}: column {col!r} has {out[col].iloc[i]!r}; expected a positive number"
                             + (" (or empty)" if col not in _REQUIRED else ""))
        out[col] = vals
    lone = out["min"].isna() != out["max"].isna()
    if lone.any():
        raise ValueError(f"{path}:{int(np.flatnonzero(lone.to_numpy())[0]) + 2}: give both 'min' and 'max', or neither")
    out["msg_size_bytes"] = out["msg_size_bytes"].astype("Int64")
    out["n"] = out["n"].astype("Int64")
    out["source_file"] = str(path)
    return out


def find_published(folder: str | Path) -> list[Path]:
    """``published.csv`` in *folder* and in each of its side folders (:func:`analysis.sides.side_folders`)."""
    from analysis.sides import side_folders

    folder = Path(folder)
    found = [folder / PUBLISHED_FILE] + [p / PUBLISHED_FILE for p in side_folders(folder)]
    if folder.is_dir():
        found += [p / PUBLISHED_FILE for p in sorted(folder.iterdir()) if p.is_dir() and not (p / "manifest.csv").is_file()]
    return [p for p in dict.fromkeys(found) if p.is_file()]


def expected_range(n: int) -> float:
    """d2(n): the expected range of n standard normal draws (for a sd from a published min/max).

    >>> round(expected_range(2), 3), round(expected_range(5), 3)
    (1.128, 2.326)
    """
    f = lambda x: 1 - sps.norm.cdf(x) ** n - sps.norm.sf(x) ** n  # noqa: E731
    return float(integrate.quad(f, -np.inf, np.inf)[0])


@dataclass(frozen=True)
class PublishedResult:
    """Each published figure against the raw side: ``table`` (one row per figure; see :func:`assess_published`),
    ``assumed_cv`` and ``confidence_level``."""

    table: pd.DataFrame
    assumed_cv: float
    confidence_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        return "\n".join(f"[{r.kind}] {r.pv_model} {r.test} {r.msg_size_bytes} B {r.metric} = {r.value:.6g} "
                         f"({r.source}): {r.status}; {r.reason}" for r in self.table.itertuples())

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return format_published_html(self)


def _sd_log(row) -> tuple[float, str]:
    """sd of the logs of the runs behind a figure, and how it was obtained ("" when there is no spread)."""
    n = row["n"]
    if pd.notna(row["sd"]):
        cv = float(row["sd"]) / float(row["value"])
        return math.sqrt(math.log1p(cv * cv)), f"sd {row['sd']:.4g} given (CV {100 * cv:.2g} %)"
    if pd.notna(row["min"]) and pd.notna(n) and int(n) >= 2:
        sd = (float(row["max"]) - float(row["min"])) / expected_range(int(n))
        cv = sd / float(row["value"])
        return math.sqrt(math.log1p(cv * cv)), f"sd from the range / d2({int(n)}) (CV {100 * cv:.2g} %)"
    return math.nan, ""


def assess_published(published: pd.DataFrame, campaign, *, baseline: str, candidate: str,
                     confidence_level: float = 0.95, margin: float = 0.05,
                     assumed_cv: float = ASSUMED_CV) -> PublishedResult:
    """What each published figure can say against the other model's raw runs (see the module docstring).

    Returns a :class:`PublishedResult` whose table has, per figure: its columns, ``kind`` ("published, not raw"),
    ``raw_model``, ``raw_n``, ``raw_hosts``, ``estimate`` (ratio candidate/baseline, published as its side),
    ``ci_low``, ``ci_high`` (NaN without a spread), ``status`` ("cannot be compared", "interval, confounded with
    host", "compared", "no raw runs to compare"), ``runs_needed`` (per model, at ``assumed_cv``), ``cannot_rule_out``
    and ``reason``.
    """
    if not (0.5 < confidence_level < 1) or not (0 < margin < 1) or not (0 < assumed_cv < 1):
        raise ValueError("confidence_level, margin, assumed_cv: expected numbers in (0.5, 1), (0, 1), (0, 1)")
    rows = []
    runs, meas = campaign.runs, campaign.measurements
    for _, p in published.iterrows():
        rows.append(_assess_row(p, runs, meas, baseline, candidate, confidence_level, margin, assumed_cv))
    return PublishedResult(pd.DataFrame(rows), float(assumed_cv), float(confidence_level))


def _assess_row(p, runs, meas, baseline, candidate, level, margin, assumed_cv) -> dict:
    out = {**p.to_dict(), "kind": PUBLISHED_KIND, "raw_model": "", "raw_n": 0, "raw_hosts": "",
           "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "runs_needed": pd.NA,
           "cannot_rule_out": "", "status": "", "reason": ""}
    model = str(p["pv_model"])
    if model not in (baseline, candidate):
        out.update(status="not in this comparison",
                   reason=f"{model} is neither the baseline ({baseline}) nor the candidate ({candidate})")
        return out
    other = baseline if model == candidate else candidate
    sel = runs[(runs["pv_model"] == other) & (runs["test"].astype("string") == str(p["test"]))
               & (pd.to_numeric(runs["msg_size_bytes"], errors="coerce") == float(p["msg_size_bytes"]))]
    v = meas[(meas["metric"] == p["metric"]) & meas["run_id"].isin(sel["run_id"])]["value"].to_numpy(float)
    v = v[np.isfinite(v) & (v > 0)]
    hosts = sorted(sel["host"].dropna().astype(str).unique()) if "host" in sel else []
    out.update(raw_model=other, raw_n=int(v.size), raw_hosts=", ".join(hosts))
    if v.size < 2:
        out.update(status="no raw runs to compare",
                   reason=f"{other} has {v.size} raw run(s) of {p['test']} at {p['msg_size_bytes']} B")
        return out
    logs = np.log(v)
    sign = 1.0 if model == candidate else -1.0
    sd_pub, how = _sd_log(p)
    mean_pub = math.log(float(p["value"])) - (sd_pub ** 2 / 2 if np.isfinite(sd_pub) else 0.0)
    d = sign * (mean_pub - logs.mean())
    out["estimate"] = math.exp(d)
    same_host = bool(str(p.get("host") or "").strip()) and str(p["host"]).strip() in hosts
    rule_out = ["the CPU clock and governor", "pinning"] + ([] if same_host else ["the host"])
    out["cannot_rule_out"] = ", ".join(rule_out)
    target = max(abs(d), math.log(1 + margin) / 2)
    sd_plan = sd_pub if np.isfinite(sd_pub) else math.sqrt(math.log1p(assumed_cv ** 2))
    out["runs_needed"] = runs_for_half_width(sd_plan, target, confidence_level=level)
    host_txt = ("measured on the raw side's host" if same_host else
                f"its host is {'not stated' if not str(p.get('host') or '').strip() else repr(str(p['host']))} and "
                f"no shared reference links it to {', '.join(hosts) or 'the raw runs'}")
    if not np.isfinite(sd_pub) or pd.isna(p["n"]) or int(p["n"]) < 2:
        out.update(status="cannot be compared", reason=(
            f"a single published number without a spread and n gives no interval, so no verdict (raw {other}: "
            f"{v.size} runs, ratio {out['estimate']:.3f} as measured); {host_txt}. About {out['runs_needed']} runs "
            f"per model at an assumed CV of {100 * assumed_cv:g} % (an assumption, not a measurement) on a shared "
            f"host would settle it; a bare number cannot rule out {out['cannot_rule_out']}"))
        return out
    n_pub = int(p["n"])
    var = sd_pub ** 2 / n_pub + logs.var(ddof=1) / v.size
    parts = ((sd_pub ** 2 / n_pub) ** 2 / (n_pub - 1)) + ((logs.var(ddof=1) / v.size) ** 2 / (v.size - 1))
    df = var * var / parts if parts > 0 else n_pub + v.size - 2
    q = sps.t(df).ppf(0.5 + level / 2)
    out["ci_low"], out["ci_high"] = math.exp(d - q * math.sqrt(var)), math.exp(d + q * math.sqrt(var))
    assume = (f"t interval on the log scale assuming the {n_pub} published runs were lognormal with the stated "
              f"mean and {how}")
    if same_host:
        out.update(status="compared", reason=f"{assume}; measured on the raw side's host; it still cannot rule out "
                                             "the clock or pinning, which a published figure does not record")
    else:
        out.update(status="interval, confounded with host", reason=(
            f"{assume}; {host_txt}, so the interval compares host + model against host + model and gives no verdict"))
    return out


def format_published_html(result: PublishedResult) -> str:
    """Each published row with its status and reason, marked "published, not raw" (escaped HTML)."""
    t = result.table
    if t.empty:
        return ""
    items = []
    for r in t.itertuples():
        ci = ("" if not np.isfinite(r.ci_low) else f" [{100 * (r.ci_low - 1):+.1f} %, {100 * (r.ci_high - 1):+.1f} %]")
        est = "" if not np.isfinite(r.estimate) else f"; ratio to raw {r.raw_model} {r.estimate:.3f}{ci}"
        items.append(f"<li><strong>[{html.escape(PUBLISHED_KIND)}]</strong> {html.escape(str(r.pv_model))} "
                     f"{html.escape(str(r.test))} {r.msg_size_bytes} B {html.escape(str(r.metric))} = "
                     f"{r.value:.6g} ({html.escape(str(r.source))}){html.escape(est)}: <strong>"
                     f"{html.escape(str(r.status))}</strong>. {html.escape(str(r.reason))}.</li>")
    return '<ul class="pvfair-published">' + "".join(items) + "</ul>"
