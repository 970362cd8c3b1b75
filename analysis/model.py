"""Regression models on the log metric: how much of a raw model difference do the clock and the pinning explain?

Per test (the cell key, :data:`analysis.vocabulary.CELL_KEY`, without the message size and the pinning, which are
terms of the model: so per tool and canonical test; a test measured by two tools is fitted once per tool and
labelled ``"TCP_STREAM (iperf3)"``), an OLS fit (HC3 robust errors) of the log metric on the PV model, the message size, the CPU clock
(its elasticity estimated per message size) and the pinning. The default formula is

.. code-block:: text

    np.log(value) ~ C(pv_model, Treatment(reference=<baseline>)) * C(msg_size_bytes)
                    + np.log(cpu_ghz):C(msg_size_bytes) + C(pinning)

reduced automatically where a term cannot be estimated (one pinning level, one clock per message size, clock
and model confounded), each reduction stated as a note. When the runs come from more than one session (or
host), a mixed model (statsmodels ``MixedLM``) with a random intercept per session gives the headline effects.

The model effect per message size is the ratio candidate/baseline: ``exp`` of a contrast of the log
coefficients (the average, over the size's runs, of the change in the linear predictor when the run's model is
switched from baseline to candidate). The clock *elasticity* is the change of the log metric per unit log GHz:
about 1 means the work is CPU-bound (dividing by GHz is right), about 0 means it is wire-bound (it is not).

A custom ``formula`` may use any column of the model frame (:func:`model_frame`): ``value``, ``log_value``,
``pv_model``, ``candidate`` (1 for the candidate, 0 for the baseline), ``msg_size_bytes``, ``pinning``,
``cpu_ghz``, ``log_cpu_ghz``, ``session``, ``host``, ``order_index``.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import patsy
from scipy import stats as sps

# the modules behind statsmodels.api's ``smf.ols``, ``smf.mixedlm`` and ``sm.stats.anova_lm`` (the same objects):
# statsmodels.api imports every subpackage (time series included), about 0.5 s more per process
from statsmodels.regression.linear_model import OLS
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.diagnostic import het_breuschpagan
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from analysis.memo import Memo, content_key
from analysis.schema import METRICS
from analysis.vocabulary import CELL_KEY, CLOCK_TOLERANCE

__all__ = ["ModelResult", "fit_model", "model_frame", "default_formula", "clock_reading", "CLOCK_JITTER"]

#: the elasticity reading: CI entirely above this -> CPU-bound, entirely below -> wire-bound
_ELASTICITY_SPLIT = 0.5

_MODEL_FRAME_COLUMNS = (
    "run_id",
    "test",
    "pv_model",
    "candidate",
    "msg_size_bytes",
    "pinning",
    "cpu_ghz",
    "log_cpu_ghz",
    "value",
    "log_value",
    "session",
    "host",
    "order_index",
)


# --------------------------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, eq=False)
class ModelResult:
    """The fitted models of one metric, per test.

    Attributes
    ----------
    metric, baseline, candidate : str
    confidence_level : float
    formulas : dict
        test -> the formula actually fitted (after any reduction).
    effects : DataFrame
        One row per test and message size: ``estimator`` (``OLS-HC3``, ``OLS-HC1`` where a run has leverage
        1, or ``MixedLM``), ``log_effect``,
        ``standard_error``, ``estimate`` (ratio candidate/baseline), ``ci_low``, ``ci_high``, ``pvalue``, ``df``
        (degrees of freedom of the t quantiles; inf: normal), ``clock_adjusted`` (the clock elasticity was estimated at that size), ``clock_confounded`` (clock and
        model cannot be told apart at that size), ``n_baseline``, ``n_candidate``, ``reason`` (why the effect
        is empty: '' when it was estimated).
    elasticities : DataFrame
        One row per test and message size: ``elasticity``, ``standard_error``, ``ci_low``, ``ci_high``,
        ``pvalue`` (H0: elasticity 0), ``reading`` (``CPU-bound``, ``wire-bound``, ``unclear``,
        ``not estimable``).
    coefficients : DataFrame
        Every coefficient of every fit: ``test, estimator, term, coef, standard_error, statistic, pvalue, ci_low,
        ci_high``.
    anova : DataFrame
        Type-II ANOVA of each OLS fit (HC3-robust F tests): ``test, term, sum_sq, df, F, pvalue``.
    diagnostics : DataFrame
        One row per test: ``n``, ``r_squared``, ``r_squared_raw`` (model and size only), ``breusch_pagan_lm``,
        ``breusch_pagan_pvalue``, ``cooks_threshold``, ``n_influential``, ``influential_runs``,
        ``group_variance`` (MixedLM random-intercept variance, NaN without one).
    residuals : DataFrame
        One row per run: ``run_id, test, pv_model, msg_size_bytes, fitted, resid, std_resid, cooks_d,
        influential``.
    raw_vs_adjusted : DataFrame
        One row per test and size: ``raw_ratio`` (geometric-mean ratio, no covariates), its ``raw_ci_low`` /
        ``raw_ci_high``, ``adjusted_ratio`` (the model effect), ``explained_pct`` (share of the raw log
        difference the covariates explain; NaN when the raw difference is under 2 %; above 100: the sign flips).
    notes : tuple of str
        Reductions, skipped tests, convergence problems.
    not_fitted : DataFrame
        One row per test of the metric without a usable model effect: ``test, reason`` (one model only, no
        message size both models ran, a fit that failed, or a fit in which the model is aliased at every size,
        e.g. with the pinning when each model ran at one pinning only).
    groups : str or None
        The column used for the random intercept, if any.
    frame : DataFrame
        The model frame (:func:`model_frame`) the fits used.
    fits, mixed_fits : dict
        test -> statsmodels results (``mixed_fits`` holds None where no mixed model was fitted).
    """

    metric: str
    baseline: str
    candidate: str
    confidence_level: float
    formulas: dict[str, str]
    effects: pd.DataFrame
    elasticities: pd.DataFrame
    coefficients: pd.DataFrame
    anova: pd.DataFrame
    diagnostics: pd.DataFrame
    residuals: pd.DataFrame
    raw_vs_adjusted: pd.DataFrame
    notes: tuple[str, ...] = ()
    not_fitted: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"test": [], "reason": []}, dtype=object))
    groups: str | None = None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    fits: dict[str, Any] = field(default_factory=dict, repr=False)
    mixed_fits: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def tests(self) -> tuple[str, ...]:
        return tuple(self.formulas)

    def effect(self, test: str, msg_size_bytes: int) -> pd.Series:
        """The effect row for one test and message size (``KeyError`` naming both when absent)."""
        rows = self.effects[(self.effects["test"] == test) & (self.effects["msg_size_bytes"] == msg_size_bytes)]
        if rows.empty:
            raise KeyError(f"no model effect for test {test!r} at msg_size_bytes {msg_size_bytes!r}")
        return rows.iloc[0]

    def elasticity(self, test: str, msg_size_bytes: int) -> pd.Series:
        """The clock-elasticity row for one test and message size."""
        e = self.elasticities
        rows = e[(e["test"] == test) & (e["msg_size_bytes"] == msg_size_bytes)]
        if rows.empty:
            raise KeyError(f"no clock elasticity for test {test!r} at msg_size_bytes {msg_size_bytes!r}")
        return rows.iloc[0]

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per test, message size and quantity (``model_ratio`` or ``clock_elasticity``)."""
        return _tidy_effects(self.effects, self.elasticities)

    def summary(self) -> str:
        """A statsmodels-style text summary: per test, the effects, elasticities, diagnostics; then notes."""
        return format_model(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _tidy_effects(effects: pd.DataFrame, elasticities: pd.DataFrame) -> pd.DataFrame:
    """The effects and elasticities in one tidy table: one row per test, message size and quantity."""
    cols = ["test", "msg_size_bytes", "quantity", "estimator", "estimate", "standard_error", "ci_low", "ci_high",
            "pvalue"]
    eff = effects.assign(quantity="model_ratio")
    ela = elasticities.rename(columns={"elasticity": "estimate"}).assign(quantity="clock_elasticity")
    out = pd.concat([eff.reindex(columns=cols), ela.reindex(columns=cols)], ignore_index=True)
    return out.sort_values(["test", "msg_size_bytes", "quantity"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# model frame and formula


def _campaign_tables(campaign: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = getattr(campaign, "runs", None)
    meas = getattr(campaign, "measurements", None)
    if not isinstance(runs, pd.DataFrame) or not isinstance(meas, pd.DataFrame):
        raise TypeError(
            f"campaign: expected an analysis.ingest.Campaign (with runs and measurements DataFrames), "
            f"got {type(campaign).__name__}"
        )
    for col in ("run_id", "pv_model", "test"):
        if col not in runs.columns:
            raise ValueError(f"campaign: runs table has no {col!r} column")
    for col in ("run_id", "metric", "value"):
        if col not in meas.columns:
            raise ValueError(f"campaign: measurements table has no {col!r} column")
    return runs, meas


def _plain_str(s: pd.Series, fill: str) -> np.ndarray:
    return np.array([fill if pd.isna(v) else str(v) for v in s], dtype=object)


def _model_test_labels(df: pd.DataFrame) -> np.ndarray:
    """The model stratum of each run: its test, or ``"TEST (tool)"`` where the campaign measured that test with
    more than one tool (the other :data:`CELL_KEY` columns beside msg_size_bytes and pinning: never pooled)."""
    test = _plain_str(df["test"], "unknown")
    others = [c for c in CELL_KEY if c not in ("test", "msg_size_bytes", "pinning") and c in df.columns]
    if not others or df.empty:
        return test
    extra = [_plain_str(df[c], "?") for c in others]
    keys = pd.Series([" ".join(x) for x in zip(*extra, strict=True)], index=df.index)
    split = keys.groupby(test).nunique()
    many = set(split.index[split > 1])
    return np.array([f"{t} ({k})" if t in many else t for t, k in zip(test, keys, strict=True)], dtype=object)


def model_frame(campaign: Any, *, metric: str, baseline: str, candidate: str, exclude_warmup: bool = True
                ) -> tuple[pd.DataFrame, list[str]]:
    """The frame the models are fitted on, with plain numpy dtypes (formula engines need them), and notes.

    One row per run of *baseline* or *candidate* that has a positive, finite value of *metric* (without the runs
    the manifest declares ``warmup`` unless *exclude_warmup* is False). ``cpu_ghz`` is the runs' ``cpu_ghz``
    (from :func:`analysis.normalize.normalize`) or ``cpu_mhz / 1000``; runs without a clock keep NaN there. A
    missing pinning becomes ``"unspecified"``, a missing message size 0.
    """
    runs, meas = _campaign_tables(campaign)
    notes: list[str] = []
    m = meas[meas["metric"] == metric][["run_id", "value"]]
    keep = runs[runs["pv_model"].isin([baseline, candidate])]
    if exclude_warmup and "warmup" in keep.columns:
        warm = keep["warmup"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if warm.any():
            notes.append(f"{int(warm.sum())} warm-up run(s) (manifest warmup) left out")
            keep = keep[~warm]
    df = keep.merge(m, on="run_id", how="inner", validate="one_to_many")
    if df["run_id"].duplicated().any():
        raise ValueError(f"campaign: metric {metric!r} has more than one value for some runs")
    value = pd.to_numeric(df["value"], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    ok = np.isfinite(value) & (value > 0)
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} run(s) with a non-positive or missing {metric} left out (log scale)")
    df = df.loc[ok].reset_index(drop=True)
    value = value[ok]
    if "cpu_ghz" in df.columns:
        ghz = pd.to_numeric(df["cpu_ghz"], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    elif "cpu_mhz" in df.columns:
        ghz = pd.to_numeric(df["cpu_mhz"], errors="coerce").astype("float64").to_numpy(na_value=np.nan) / 1000.0
    else:
        ghz = np.full(len(df), np.nan)
    ghz = np.where(ghz > 0, ghz, np.nan)
    size = df["msg_size_bytes"] if "msg_size_bytes" in df.columns else pd.Series(pd.NA, index=df.index)
    size_na = size.isna().to_numpy()
    if size_na.any():
        notes.append(f"{int(size_na.sum())} run(s) without a message size coded as size 0")
    size_arr = np.array([0 if pd.isna(v) else int(v) for v in size], dtype=np.int64)
    out = pd.DataFrame(
        {
            "run_id": _plain_str(df["run_id"], ""),
            "test": _model_test_labels(df),
            "pv_model": _plain_str(df["pv_model"], ""),
            "candidate": (df["pv_model"] == candidate).to_numpy(dtype=bool).astype(np.int64),
            "msg_size_bytes": size_arr,
            "pinning": _plain_str(df["pinning"], "unspecified") if "pinning" in df else "unspecified",
            "cpu_ghz": ghz,
            "log_cpu_ghz": np.log(ghz),
            "value": value,
            "log_value": np.log(value),
            "session": _plain_str(df["session"], "") if "session" in df else "",
            "host": _plain_str(df["host"], "") if "host" in df else "",
            "order_index": (
                pd.to_numeric(df["order_index"], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
                if "order_index" in df
                else np.nan
            ),
        }
    )
    # pandas 3 may infer the string dtype for object arrays; patsy accepts both
    return out[list(_MODEL_FRAME_COLUMNS)], notes


#: clock differences below this (relative) are reading jitter, not a different clock: vocabulary.CLOCK_TOLERANCE
CLOCK_JITTER = CLOCK_TOLERANCE


def _clock_status(sub: pd.DataFrame) -> tuple[str, ...]:
    """Per size in *sub*: 'varies', 'constant', 'confounded' (clock differs only with the model) or 'missing'.

    Clock spread within a model below :data:`CLOCK_JITTER` is treated as reading jitter (``/proc/cpuinfo`` of a
    fixed clock wobbles by a few MHz): an elasticity fitted on it alone would be noise.
    """
    out = []
    for _, g in sub.groupby("msg_size_bytes", sort=True):
        lg = g["log_cpu_ghz"].to_numpy()
        if not np.isfinite(lg).all():
            out.append("missing")
            continue
        cand = g["candidate"].to_numpy()
        means = {k: lg[cand == k].mean() for k in (0, 1) if (cand == k).any()}
        within = max(np.ptp(lg[cand == k]) for k in means)
        between = abs(means.get(1, 0.0) - means.get(0, 0.0)) if len(means) == 2 else 0.0
        if within > np.log1p(CLOCK_JITTER):
            out.append("varies")
        elif between > np.log1p(CLOCK_JITTER):
            out.append("confounded")
        else:
            out.append("constant")
    return tuple(out)


def default_formula(sub: pd.DataFrame, *, baseline: str) -> tuple[str, pd.DataFrame, list[str]]:
    """The default formula for one test's model frame, reduced to what the data can estimate.

    Returns the formula, the frame (with any per-size clock columns ``log_ghz_at_<size>`` added) and the notes
    saying what was reduced and why.
    """
    notes: list[str] = []
    sizes = sorted(sub["msg_size_bytes"].unique())
    pv = f"C(pv_model, Treatment(reference={baseline!r}))"
    rhs = [f"{pv} * C(msg_size_bytes)" if len(sizes) > 1 else pv]
    status = dict(zip(sizes, _clock_status(sub), strict=True))
    varying = [s for s in sizes if status[s] == "varies"]
    for s in sizes:
        reason = {
            "constant": "one clock for both models: no clock adjustment needed, elasticity not estimable",
            "confounded": "the clock differs only together with the PV model: clock and model effects cannot "
            "be separated, the effect there includes the clock difference",
            "missing": "runs without a CPU clock: elasticity not estimable",
        }.get(status[s])
        if reason:
            notes.append(f"size {s} B: {reason}")
    frame = sub.copy()
    if varying and len(varying) == len(sizes):
        rhs.append("np.log(cpu_ghz):C(msg_size_bytes)" if len(sizes) > 1 else "np.log(cpu_ghz)")
    elif varying:
        for s in varying:
            frame[f"log_ghz_at_{s}"] = np.where(frame["msg_size_bytes"] == s, frame["log_cpu_ghz"], 0.0)
            rhs.append(f"log_ghz_at_{s}")
        notes.append("clock elasticity estimated only at sizes " + ", ".join(f"{s} B" for s in varying))
    pinnings = frame["pinning"].unique()
    if len(pinnings) > 1:
        rhs.append("C(pinning)")
    return "np.log(value) ~ " + " + ".join(rhs), frame, notes


# --------------------------------------------------------------------------------------------------------------
# fitting


def _fit_model_iv(campaign, metric, baseline, candidate, test, formula, groups, confidence_level):
    runs, meas = _campaign_tables(campaign)
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"metric: expected one of the metrics in analysis.schema.METRICS, got {metric!r}")
    present = set(meas["metric"].dropna().astype(str))
    if metric not in present:
        raise ValueError(f"metric: {metric!r} has no measurements in this campaign; present: {sorted(present)}")
    models = set(runs["pv_model"].dropna().astype(str))
    for name, val in (("baseline", baseline), ("candidate", candidate)):
        if not isinstance(val, str) or val not in models:
            raise ValueError(f"{name}: expected one of the campaign's PV models {sorted(models)}, got {val!r}")
    if baseline == candidate:
        raise ValueError(f"candidate: must differ from baseline (both are {baseline!r})")
    tests_present = set(runs["test"].dropna().astype(str))
    if test is None:
        tests = None
    else:
        tests = [test] if isinstance(test, str) else list(test)
        bad = [t for t in tests if t not in tests_present]
        if bad or not tests:
            raise ValueError(f"test: expected tests among {sorted(tests_present)}, got {test!r}")
    if formula is not None and (not isinstance(formula, str) or "~" not in formula):
        raise ValueError(f"formula: expected a formula string 'response ~ terms', got {formula!r}")
    if groups is not None and groups is not False:
        if not isinstance(groups, str) or groups not in runs.columns:
            raise ValueError(f"groups: expected a runs column name (e.g. 'session', 'host') or False, got {groups!r}")
    if not (isinstance(confidence_level, float | int) and 0 < confidence_level < 1):
        raise ValueError(f"confidence_level: expected a number in (0, 1), got {confidence_level!r}")
    return tests, float(confidence_level)


def _contrasts(frame: pd.DataFrame, spec: Any, change: str, baseline: str, candidate: str) -> dict[int, np.ndarray]:
    """Per message size, the mean over its rows of X(changed) - X(reference): a linear contrast of the
    coefficients. *change* is ``"model"`` (baseline -> candidate) or ``"clock"`` (log GHz + 1). One design build
    for all sizes."""
    if change == "model":
        hi = frame.assign(pv_model=candidate, candidate=1)
        lo = frame.assign(pv_model=baseline, candidate=0)
    else:
        hi, lo = _shift_clock(frame, np.e), frame
    both = pd.concat([hi, lo], ignore_index=True)
    x = patsy.build_design_matrices([spec], both, return_type="dataframe", NA_action="raise")[0].to_numpy()
    diff = x[: len(frame)] - x[len(frame):]
    sizes = frame["msg_size_bytes"].to_numpy()
    return {int(s): diff[sizes == s].mean(axis=0) for s in np.unique(sizes)}


def _shift_clock(rows: pd.DataFrame, factor: float) -> pd.DataFrame:
    out = rows.assign(cpu_ghz=rows["cpu_ghz"] * factor, log_cpu_ghz=rows["log_cpu_ghz"] + np.log(factor))
    for c in out.columns:
        if c.startswith("log_ghz_at_"):
            size = int(c.removeprefix("log_ghz_at_"))
            out[c] = np.where(out["msg_size_bytes"] == size, out["log_cpu_ghz"], 0.0)
    return out


def _estimable(L: np.ndarray, X: np.ndarray) -> bool:
    if not np.any(np.abs(L) > 1e-12):
        return False
    proj = L @ np.linalg.pinv(X) @ X
    return bool(np.max(np.abs(proj - L)) <= 1e-7 * max(1.0, np.max(np.abs(L))))


def _lincomb(L, params, cov, *, df: float | None, level: float, cov_floor=None) -> dict[str, float]:
    """Estimate, standard error, CI and p-value of the contrast ``L @ params``; with *cov_floor* the standard
    error is the larger of the two covariances' (robust vs conventional, Angrist & Pischke 2009, sec. 8.1)."""
    with np.errstate(invalid="ignore", over="ignore"):  # a covariance that does not exist is NaN: checked below
        est = float(L @ params)
        var = float(L @ cov @ L)
        floor_var = float(L @ cov_floor @ L) if cov_floor is not None else np.nan
    se = float(np.sqrt(var)) if var >= 0 else (0.0 if np.isfinite(var) else np.nan)
    if cov_floor is not None:
        if np.isfinite(floor_var) and floor_var > 0 and np.isfinite(se):
            se = max(se, float(np.sqrt(floor_var)))
    dist = sps.t(df) if df is not None and np.isfinite(df) and df > 0 else sps.norm()
    q = dist.ppf(0.5 + level / 2)
    stat = est / se if se > 0 else np.nan
    p = float(2 * dist.sf(abs(stat))) if np.isfinite(stat) else np.nan
    return {"log_effect": est, "standard_error": se, "lo": est - q * se, "hi": est + q * se, "pvalue": p}


def _usable_contrast(L, X, params, cov, *, df, level, cov_floor=None, both_models=True
                     ) -> tuple[dict[str, float] | None, str]:
    """:func:`_lincomb` where the contrast is estimable and has a finite, positive standard error, else None;
    with the reason ('' when estimated). A NaN there would reach the multiplicity adjustment downstream."""
    if not both_models:
        return None, "measured by one model only"
    if not _estimable(L, X):
        return None, "not estimable: aliased with other terms of the design"
    r = _lincomb(L, params, cov, df=df, level=level, cov_floor=cov_floor)
    if not (np.isfinite(r["standard_error"]) and r["standard_error"] > 0 and np.isfinite(r["log_effect"])):
        if df is not None and not df >= 1:
            return None, "no standard error: the runs leave no residual degrees of freedom for it"
        return None, "no standard error: the runs fit the model exactly (zero residual spread), so no interval exists"
    return r, ""


def _coef_table(test: str, estimator: str, names, params, cov, df, level) -> pd.DataFrame:
    rows = []
    for i, name in enumerate(names):
        L = np.zeros(len(names))
        L[i] = 1.0
        r = _lincomb(L, params, cov, df=df, level=level)
        rows.append(
            {
                "test": test,
                "estimator": estimator,
                "term": name,
                "coef": r["log_effect"],
                "standard_error": r["standard_error"],
                "statistic": r["log_effect"] / r["standard_error"] if r["standard_error"] > 0 else np.nan,
                "pvalue": r["pvalue"],
                "ci_low": r["lo"],
                "ci_high": r["hi"],
            }
        )
    return pd.DataFrame(rows)


def clock_reading(ci_low: float, ci_high: float) -> str:
    """Read a clock-elasticity CI: ``CPU-bound`` (CI above 0.5), ``wire-bound`` (below 0.5), else ``unclear``.

    >>> clock_reading(0.8, 1.2), clock_reading(-0.1, 0.2), clock_reading(0.1, 1.1)
    ('CPU-bound', 'wire-bound', 'unclear')
    """
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "not estimable"
    if ci_low > _ELASTICITY_SPLIT:
        return "CPU-bound"
    if ci_high < _ELASTICITY_SPLIT:
        return "wire-bound"
    return "unclear"


#: a run whose leverage is this close to 1 is fitted exactly by a term of its own (HC2/HC3 divide by 1 - h)
_LEVERAGE_ONE = 1e-8


def _leverages(X: np.ndarray) -> np.ndarray:
    """Diagonal of the hat matrix X (X'X)^+ X' (pseudo-inverse: rank-deficient designs included)."""
    return np.einsum("ij,ji->i", X, np.linalg.pinv(X))


def _robust_ols(fml: str, frame: pd.DataFrame, runs: Sequence[str]) -> tuple[Any, str, str]:
    """OLS with the best heteroscedasticity-consistent covariance that exists: (fit, cov_type, note).

    HC3 (MacKinnon & White 1985) divides each squared residual by (1 - h)^2 and HC2 by (1 - h): a run with
    leverage 1 (the only run at its pinning, or the only pinned run of a model at some clock, fitted exactly by
    its own coefficient) makes both 0/0. Then HC1 (White's HC0 with the n / (n - k) correction, which gives that
    run no weight) is used, and the note names the runs; the conventional covariance is the last resort.
    """
    model = OLS.from_formula(fml, frame)
    h = _leverages(np.asarray(model.exog))
    exact = np.flatnonzero(h > 1 - _LEVERAGE_ONE)
    note = ""
    order = ("HC3", "HC1", "nonrobust")
    if exact.size:
        order = ("HC1", "nonrobust")
        named = ", ".join(str(runs[i]) for i in exact[:5]) + (f" and {exact.size - 5} more" if exact.size > 5 else "")
        note = (f"run(s) {named} have leverage 1 (a term is estimated from them alone): HC3 errors do not exist "
                "there, HC1 robust errors used")
    fit = None
    for cov_type in order:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", SingularMatrixWarning)
            fit = model.fit(cov_type=cov_type, use_t=True)
        if np.all(np.isfinite(np.asarray(fit.cov_params()))):
            return fit, cov_type, note
        note = (note + "; " if note else "") + f"{cov_type} covariance not finite"
    return fit, order[-1], note + "; no standard error exists (no residual degrees of freedom)"


def _auto_groups(sub: pd.DataFrame, groups, test: str) -> tuple[str | None, tuple[str, ...]]:
    """The random-intercept column: *groups*, else ``session`` or ``host``, when some model has runs in more
    than one of its levels (with one level per model the grouping is aliased with the PV model itself); with
    the notes on the columns passed over for that reason."""
    if groups is False:
        return None, ()
    notes: list[str] = []
    candidates = [groups] if isinstance(groups, str) else ["session", "host"]
    for g in candidates:
        if g not in sub.columns or sub[g].nunique() < 2 or (sub[g] == "").any():
            continue
        if sub.groupby("candidate")[g].nunique().max() < 2:
            notes.append(f"{test}: one {g} per PV model: {g} and model effects are aliased, so no random "
                         f"intercept by {g} (OLS-HC3)")
            continue
        return g, tuple(notes)
    return None, tuple(notes)


def _fit_mixed(fml: str, frame: pd.DataFrame, gcol: str) -> tuple[Any, str]:
    """MixedLM with a random intercept per *gcol* (REML), trying optimizers until one converges.

    Returns the fit (None when every optimizer failed) and a note ('' when all is well). A random-intercept
    variance at the boundary (~0) is common when sessions do not differ; the optimizers that handle it
    (Powell, Nelder-Mead) are tried after the gradient ones.
    """
    model = MixedLM.from_formula(fml, frame, groups=frame[gcol])
    fallback, errors = None, []
    for method in ("bfgs", "lbfgs", "powell", "nm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = model.fit(reml=True, method=[method])
            except (np.linalg.LinAlgError, ValueError) as exc:
                errors.append(f"{method}: {exc}")
                continue
        if fit.converged and np.all(np.isfinite(np.asarray(fit.bse_fe))):
            return fit, ""
        fallback = fallback or fit
    if fallback is not None:
        return fallback, "no optimizer converged; the fit shown is not reliable"
    return None, "failed (" + "; ".join(errors) + "); OLS-HC3 effects reported"


def _sizes_text(sub: pd.DataFrame, flag: int) -> str:
    sizes = sorted({int(v) for v in sub.loc[sub["candidate"] == flag, "msg_size_bytes"]})
    return ", ".join(f"{v} B" for v in sizes)


def _unfittable(sub: pd.DataFrame, baseline: str, candidate: str) -> str:
    """Why one test's model frame cannot be fitted ('' when it can): one model only, or no message size that
    both models ran (e.g. iperf3 UDP, one run of each model at 1448 and 32768 bytes)."""
    present = set(sub["candidate"].unique())
    if present != {0, 1}:
        only = candidate if present == {1} else baseline
        return f"runs of {only} only"
    both = sub.groupby("msg_size_bytes")["candidate"].nunique()
    if not (both == 2).any():
        return (f"the two models ran at no common message size ({baseline} at {_sizes_text(sub, 0)}; "
                f"{candidate} at {_sizes_text(sub, 1)}): the model effect is not estimable")
    return ""


@dataclass(frozen=True, eq=False)
class TestFit:
    """The fitted models of one test and the tables built from them (:func:`_fit_one`).

    :func:`fit_model` fits each test on its own and concatenates the tests' tables into a :class:`ModelResult`.

    Attributes
    ----------
    test, formula : str
        The test and the formula actually fitted (after any reduction).
    frame : DataFrame
        The runs fitted: the test's model frame without the sizes only one model ran and without the runs lacking
        a clock the formula needs, with any per-size clock columns of :func:`default_formula`.
    effects, elasticities, coefficients, anova, residuals, raw_vs_adjusted : DataFrame
        This test's rows of the :class:`ModelResult` tables of the same names.
    diagnostics : dict
        This test's row of :attr:`ModelResult.diagnostics`.
    ols, mixed
        The statsmodels OLS results, and the MixedLM results (None where no mixed model gives the effects).
    groups : str or None
        The random-intercept column considered for the mixed model.
    notes : tuple of str
        What was left out, reduced or failed, each starting with the test, in the order it arose.
    """

    __test__ = False  # a result class, not a pytest test class

    test: str
    formula: str
    frame: pd.DataFrame = field(repr=False)
    effects: pd.DataFrame
    elasticities: pd.DataFrame
    coefficients: pd.DataFrame
    anova: pd.DataFrame
    diagnostics: dict[str, Any]
    residuals: pd.DataFrame = field(repr=False)
    raw_vs_adjusted: pd.DataFrame
    ols: Any = field(repr=False)
    mixed: Any = field(repr=False)
    groups: str | None
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """Tidy, as :meth:`ModelResult.to_frame`: one row per message size and quantity."""
        return _tidy_effects(self.effects, self.elasticities)


@dataclass(frozen=True, eq=False)
class _Estimator:
    """The fit whose coefficients give one test's headline effects and elasticities: the MixedLM fixed effects
    (normal quantiles) or the robust OLS fit (t quantiles, its standard errors floored by the conventional ones,
    see :func:`fit_model`)."""

    name: str
    params: np.ndarray
    cov: np.ndarray
    df: float | None
    cov_floor: np.ndarray | None
    group_variance: float

    def contrast(self, L, X, *, level: float, both_models: bool = True) -> tuple[dict[str, float] | None, str]:
        """:func:`_usable_contrast` of this fit."""
        return _usable_contrast(L, X, self.params, self.cov, df=self.df, level=level, cov_floor=self.cov_floor,
                                both_models=both_models)


def _fit_rows(sub: pd.DataFrame, *, test: str, formula: str | None, baseline: str
              ) -> tuple[str, pd.DataFrame, dict[Any, str], tuple[str, ...]]:
    """The formula and the runs one test is fitted on, the clock status per message size (in size order), and
    the notes saying what was left out or reduced: sizes only one model ran, terms the data cannot estimate,
    runs without the clock the formula needs."""
    notes: list[str] = []
    both = sub.groupby("msg_size_bytes")["candidate"].nunique()
    one = sorted(int(s) for s in both.index[both < 2])
    if one:
        notes.append(f"{test}: size(s) " + ", ".join(f"{s} B" for s in one)
                     + " measured by one model only, left out of the fit")
        sub = sub[~sub["msg_size_bytes"].isin(one)].reset_index(drop=True)
    sizes = sorted(sub["msg_size_bytes"].unique())
    status = dict(zip(sizes, _clock_status(sub), strict=True))
    if formula is None:
        fml, frame, red = default_formula(sub, baseline=baseline)
        notes.extend(f"{test}: {n}" for n in red)
    else:
        fml, frame = formula, sub.copy()
    if "cpu_ghz" in fml and frame["cpu_ghz"].isna().any():
        n_missing = int(frame["cpu_ghz"].isna().sum())
        notes.append(f"{test}: {n_missing} run(s) without a CPU clock left out of the fit")
        frame = frame[frame["cpu_ghz"].notna()]
    return fml, frame.reset_index(drop=True), status, tuple(notes)


def _fit_ols(fml: str, frame: pd.DataFrame, test: str) -> tuple[Any, str, tuple[str, ...]]:
    """The robust OLS fit (:func:`_robust_ols`), its covariance type, and the notes on its errors and design
    (rank deficiency, no residual degrees of freedom); statsmodels' own rank warning would only repeat them."""
    ols, cov_type, cov_note = _robust_ols(fml, frame, frame["run_id"].tolist())
    notes = [f"{test}: {cov_note}"] if cov_note else []
    X = np.asarray(ols.model.exog)
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        notes.append(f"{test}: the design is rank-deficient ({rank} of {X.shape[1]} columns); "
                     "aliased terms are not estimable and their effects are left empty")
    if ols.df_resid < 1:
        notes.append(f"{test}: no residual degrees of freedom ({len(frame)} runs for {X.shape[1]} coefficients)")
    return ols, cov_type, tuple(notes)


def _fit_estimator(ols, ols_name: str, fml: str, frame: pd.DataFrame, *, test: str, groups
                   ) -> tuple[_Estimator, Any, str | None, tuple[str, ...]]:
    """The fit giving the headline effects: a MixedLM with a random intercept per group (:func:`_auto_groups`)
    where one fits with a finite covariance, else the OLS fit. Returns it, the MixedLM results (or None), the
    group column and the notes."""
    gcol, group_notes = _auto_groups(frame, groups, test)
    notes = list(group_notes)
    k = len(ols.model.exog_names)
    mixed = None
    if gcol is not None:
        mixed, problem = _fit_mixed(fml, frame, gcol)
        if problem:
            notes.append(f"{test}: mixed model by {gcol}: {problem}")
    if mixed is not None and not np.all(np.isfinite(np.asarray(mixed.cov_params())[:k, :k])):
        notes.append(f"{test}: mixed model by {gcol}: its fixed-effect covariance is not finite; "
                     f"{ols_name} effects reported")
        mixed = None
    if mixed is not None:
        est = _Estimator("MixedLM", np.asarray(mixed.fe_params), np.asarray(mixed.cov_params())[:k, :k], None,
                         None, float(np.asarray(mixed.cov_re)[0, 0]))
        return est, mixed, gcol, tuple(notes)
    # HC3 alone undercovers with a handful of runs per cell (z spread ~1.15 in simulation): the effects use
    # the larger of the HC3 and the conventional standard error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no residual df: the scale is inf, ignored there
        floor = np.asarray(ols.normalized_cov_params) * float(ols.scale)
    est = _Estimator(ols_name, np.asarray(ols.params), np.asarray(ols.cov_params()), ols.df_resid, floor, np.nan)
    return est, None, gcol, tuple(notes)


def _fit_raw(frame: pd.DataFrame, *, baseline: str, n_sizes: int) -> Any:
    """OLS of the log metric on the PV model and the message size only (no covariates): the raw ratios."""
    pv = f"C(pv_model, Treatment(reference={baseline!r}))"
    raw_fml = "np.log(value) ~ " + (f"{pv} * C(msg_size_bytes)" if n_sizes > 1 else pv)
    return _robust_ols(raw_fml, frame, frame["run_id"].tolist())[0]


def _effect_row(test: str, size, est: _Estimator, r, why: str, n: tuple[int, int], *, clock_adjusted: bool,
                clock_confounded: bool) -> dict[str, Any]:
    """One row of :attr:`ModelResult.effects` from the model contrast *r* (None: not estimated, see *why*)."""
    return {
        "test": test,
        "msg_size_bytes": int(size),
        "estimator": est.name,
        "log_effect": r["log_effect"] if r else np.nan,
        "standard_error": r["standard_error"] if r else np.nan,
        "estimate": float(np.exp(r["log_effect"])) if r else np.nan,
        "ci_low": float(np.exp(r["lo"])) if r else np.nan,
        "ci_high": float(np.exp(r["hi"])) if r else np.nan,
        "pvalue": r["pvalue"] if r else np.nan,
        "df": float(est.df) if est.df is not None else np.inf,
        "clock_adjusted": clock_adjusted,
        "clock_confounded": clock_confounded,
        "n_baseline": n[0],
        "n_candidate": n[1],
        "reason": why,
    }


def _elasticity_row(test: str, size, estimator: str, rc) -> dict[str, Any]:
    """One row of :attr:`ModelResult.elasticities` from the clock contrast *rc* (None: not estimable)."""
    return {
        "test": test,
        "msg_size_bytes": int(size),
        "estimator": estimator,
        "elasticity": rc["log_effect"] if rc else np.nan,
        "standard_error": rc["standard_error"] if rc else np.nan,
        "ci_low": rc["lo"] if rc else np.nan,
        "ci_high": rc["hi"] if rc else np.nan,
        "pvalue": rc["pvalue"] if rc else np.nan,
        "reading": clock_reading(rc["lo"], rc["hi"]) if rc else "not estimable",
    }


def _raw_row(test: str, size, r, rr) -> dict[str, Any]:
    """One row of :attr:`ModelResult.raw_vs_adjusted` from the model contrast *r* and the raw one *rr*."""
    raw_log = rr["log_effect"] if rr else np.nan
    adj_log = r["log_effect"] if r else np.nan
    explained = 100.0 * (raw_log - adj_log) / raw_log if abs(raw_log) > 0.02 else np.nan
    return {
        "test": test,
        "msg_size_bytes": int(size),
        "raw_ratio": float(np.exp(raw_log)),
        "raw_ci_low": float(np.exp(rr["lo"])) if rr else np.nan,
        "raw_ci_high": float(np.exp(rr["hi"])) if rr else np.nan,
        "adjusted_ratio": float(np.exp(adj_log)),
        "explained_pct": explained,
    }


def _effects(frame: pd.DataFrame, ols, raw, est: _Estimator, *, test: str, status: dict[Any, str], baseline: str,
             candidate: str, level: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per message size of *status*: the model effect, the clock elasticity and the raw-vs-adjusted ratio, as the
    three tables ``effects``, ``elasticities``, ``raw_vs_adjusted``."""
    X, raw_X = np.asarray(ols.model.exog), np.asarray(raw.model.exog)
    spec = ols.model.data.model_spec
    l_model = _contrasts(frame, spec, "model", baseline, candidate)
    l_clock = _contrasts(frame, spec, "clock", baseline, candidate)
    l_raw = _contrasts(frame, raw.model.data.model_spec, "model", baseline, candidate)
    eff_rows, ela_rows, rva_rows = [], [], []
    for s, clock in status.items():
        mask = (frame["msg_size_bytes"] == s).to_numpy()
        nb = int(((frame["candidate"] == 0) & mask).sum())
        nc = int(((frame["candidate"] == 1) & mask).sum())
        r, why = est.contrast(l_model[int(s)], X, level=level, both_models=bool(nb and nc))
        rc, _ = est.contrast(l_clock[int(s)], X, level=level)
        rr, _ = _usable_contrast(l_raw[int(s)], raw_X, np.asarray(raw.params), np.asarray(raw.cov_params()),
                                 df=raw.df_resid, level=level, both_models=bool(nb and nc))
        eff_rows.append(_effect_row(test, s, est, r, why, (nb, nc), clock_adjusted=rc is not None,
                                    clock_confounded=clock == "confounded"))
        ela_rows.append(_elasticity_row(test, s, est.name, rc))
        rva_rows.append(_raw_row(test, s, r, rr))
    return pd.DataFrame(eff_rows), pd.DataFrame(ela_rows), pd.DataFrame(rva_rows)


def _anova(ols, cov_type: str, test: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Type-II ANOVA of the OLS fit, its F tests robust as the fit's errors; the classical type-I table (and a
    note) where type II cannot be formed."""
    notes: tuple[str, ...] = ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            an = anova_lm(ols, typ=2, robust=cov_type.lower() if cov_type.startswith("HC") else None)
    except (ValueError, np.linalg.LinAlgError, KeyError) as exc:
        notes = (f"{test}: type-II ANOVA not available ({exc}); type-I table shown",)
        an = anova_lm(ols, typ=1)
    an = an.reset_index().rename(columns={"index": "term", "PR(>F)": "pvalue"})
    return an.reindex(columns=["term", "sum_sq", "df", "F", "pvalue"]).assign(test=test), notes


def _diagnostics(ols, raw, frame: pd.DataFrame, *, test: str, group_variance: float, groups: str | None
                 ) -> tuple[dict[str, Any], pd.DataFrame]:
    """The diagnostics row of one test (R², Breusch-Pagan, influential runs by Cook's distance above 4/n) and
    its residuals table (one row per run)."""
    n = len(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        infl = ols.get_influence()
        cooks = np.asarray(infl.cooks_distance[0])
        std_resid = np.asarray(infl.resid_studentized_internal)
    threshold = 4.0 / n
    influential = np.nan_to_num(cooks, nan=0.0) > threshold
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularMatrixWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            bp_lm, bp_p, _, _ = het_breuschpagan(np.asarray(ols.resid), np.asarray(ols.model.exog))
    except (ValueError, np.linalg.LinAlgError):
        bp_lm, bp_p = np.nan, np.nan
    order = np.argsort(-np.nan_to_num(cooks, nan=0.0))
    named = [frame["run_id"].iloc[i] for i in order if influential[i]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # R² of a frame with no spread: NaN, not a warning
        r2, r2_raw = float(ols.rsquared), float(raw.rsquared)
    diag = {
        "test": test,
        "n": n,
        "r_squared": r2,
        "r_squared_raw": r2_raw,
        "breusch_pagan_lm": float(bp_lm),
        "breusch_pagan_pvalue": float(bp_p),
        "cooks_threshold": threshold,
        "n_influential": int(influential.sum()),
        "influential_runs": ", ".join(named),
        "group_variance": group_variance,
        "groups": groups or "",
    }
    resid = pd.DataFrame(
        {
            "run_id": frame["run_id"].to_numpy(),
            "test": test,
            "pv_model": frame["pv_model"].to_numpy(),
            "msg_size_bytes": frame["msg_size_bytes"].to_numpy(),
            "fitted": np.asarray(ols.fittedvalues),
            "resid": np.asarray(ols.resid),
            "std_resid": std_resid,
            "cooks_d": cooks,
            "influential": influential,
        }
    )
    return diag, resid


def _fit_one(sub: pd.DataFrame, *, test: str, formula: str | None, baseline: str, candidate: str, groups,
             level: float) -> TestFit:
    """Fit one test's model frame *sub*: the OLS fit, the mixed model where the runs have groups, the raw fit
    (model and size only), and the tables built from them, with the notes."""
    fml, frame, status, fit_notes = _fit_rows(sub, test=test, formula=formula, baseline=baseline)
    ols, cov_type, ols_notes = _fit_ols(fml, frame, test)
    ols_name = f"OLS-{cov_type}"
    est, mixed, gcol, mixed_notes = _fit_estimator(ols, ols_name, fml, frame, test=test, groups=groups)
    names = list(ols.model.exog_names)
    coefs = [_coef_table(test, ols_name, names, np.asarray(ols.params), np.asarray(ols.cov_params()),
                         ols.df_resid, level)]
    if mixed is not None:
        coefs.append(_coef_table(test, est.name, names, est.params, est.cov, None, level))
    raw = _fit_raw(frame, baseline=baseline, n_sizes=len(status))
    effects, elasticities, raw_vs_adjusted = _effects(frame, ols, raw, est, test=test, status=status,
                                                      baseline=baseline, candidate=candidate, level=level)
    anova, anova_notes = _anova(ols, cov_type, test)
    diagnostics, residuals = _diagnostics(ols, raw, frame, test=test, group_variance=est.group_variance,
                                          groups=gcol)
    return TestFit(
        test=test,
        formula=fml,
        frame=frame.assign(test=test),
        effects=effects,
        elasticities=elasticities,
        coefficients=pd.concat(coefs, ignore_index=True),
        anova=anova,
        diagnostics=diagnostics,
        residuals=residuals,
        raw_vs_adjusted=raw_vs_adjusted,
        ols=ols,
        mixed=mixed,
        groups=gcol,
        notes=fit_notes + ols_notes + mixed_notes + anova_notes,
    )


#: per-test fits by content key (model frame, formula, models, groups, level); see analysis.memo
_FIT_MEMO = Memo("fit_model (per test)", maxsize=32)


def _fit_one_memo(sub, *, test, formula, baseline, candidate, groups, level) -> TestFit:
    """:func:`_fit_one`, memoized on the test's model frame and the fit's settings (the notes are part of the
    cached :class:`TestFit`).

    :func:`analysis.compare.compare` fits the metrics whose cells ran at different clocks and the model notebook
    fits the primary metrics: a test whose frame is the same in both is fitted once per kernel.
    """
    key = content_key("fit_one", sub, test, formula, baseline, candidate, groups, level)
    return _FIT_MEMO.get_or_compute(
        key, lambda: _fit_one(sub, test=test, formula=formula, baseline=baseline, candidate=candidate,
                              groups=groups, level=level))


def fit_model(
    campaign: Any,
    *,
    metric: str,
    baseline: str,
    candidate: str,
    test: str | Sequence[str] | None = None,
    formula: str | None = None,
    groups: str | bool | None = None,
    confidence_level: float = 0.95,
    exclude_warmup: bool = True,
) -> ModelResult:
    """Fit the log-metric regression of *metric* per test and report the model effect per message size.

    Parameters
    ----------
    campaign : Campaign
        Raw or normalized (``cpu_ghz`` is taken from the runs, else ``cpu_mhz / 1000``).
    metric : str
        A metric of :data:`analysis.schema.METRICS` measured in the campaign.
    baseline, candidate : str
        The two PV models; the effect is the ratio candidate/baseline.
    test : str or sequence of str, optional
        The tests to fit (each separately); default every test that has runs of both models.
    formula : str, optional
        A formula over the model frame (see the module docstring) used as given for every test; default the
        reduced default formula (:func:`default_formula`).
    groups : str or False, optional
        The runs column for a random intercept (MixedLM). Default: ``session`` or else ``host`` when it has
        more than one level in a test; False: OLS only.
    confidence_level : float
        For every CI (pass a simultaneous level for several cells).
    exclude_warmup : bool
        Leave out the runs the manifest declares warm-up (``warmup`` column; a note counts them). Default True.

    Returns
    -------
    ModelResult

    Notes
    -----
    OLS uses HC3 heteroscedasticity-consistent errors with t quantiles on the residual degrees of freedom; the
    ``coefficients`` table is exactly statsmodels' HC3 fit. The per-size effects and elasticities take the larger
    of the HC3 and the conventional standard error (Angrist & Pischke 2009, *Mostly Harmless Econometrics*,
    sec. 8.1): with a handful of runs per cell HC3 alone is too small (in simulation its standardized errors
    spread about 15 % wider than N(0, 1)), while the conventional one fails under heteroscedasticity. When a
    mixed model is fitted, its fixed effects (REML, normal quantiles) give the headline effects and elasticities.
    A Cook's distance above 4/n marks a run as influential.
    """
    tests, level = _fit_model_iv(campaign, metric, baseline, candidate, test, formula, groups, confidence_level)
    if not isinstance(exclude_warmup, bool | np.bool_):
        raise TypeError(f"exclude_warmup: expected True or False, got {exclude_warmup!r}")
    frame, notes = model_frame(campaign, metric=metric, baseline=baseline, candidate=candidate,
                               exclude_warmup=bool(exclude_warmup))
    not_fitted: list[tuple[str, str]] = []
    if tests is None:
        both = frame.groupby("test")["candidate"].nunique()
        tests = sorted(both.index[both == 2])
        one = sorted(set(frame["test"]) - set(tests))
        if one:
            notes.append("tests measured for one model only, not modelled: " + ", ".join(one))
            not_fitted += [(t, _unfittable(frame[frame["test"] == t], baseline, candidate)) for t in one]
        if not tests:
            raise ValueError(f"metric: no test has {metric!r} runs of both {baseline!r} and {candidate!r}")
    parts: dict[str, TestFit] = {}
    for t in tests:
        sub = frame[frame["test"] == t].reset_index(drop=True)
        why = _unfittable(sub, baseline, candidate)
        if not why:
            try:
                parts[t] = _fit_one_memo(sub, test=t, formula=formula, baseline=baseline, candidate=candidate,
                                         groups=groups, level=level)
                notes.extend(parts[t].notes)
                empty = parts[t].effects["reason"]
                if (empty != "").all():
                    not_fitted.append((t, "fitted, but no model effect is estimable at any size: "
                                       + "; ".join(dict.fromkeys(empty))))
                continue
            except (ValueError, np.linalg.LinAlgError, patsy.PatsyError) as exc:
                why = f"the fit failed ({type(exc).__name__}: {exc})"
        notes.append(f"{t}: not modelled: {why}")
        not_fitted.append((t, why))
    if not parts:
        raise ValueError(f"test: none of {tests!r} can be modelled for {metric!r}: "
                         + "; ".join(f"{t}: {why}" for t, why in not_fitted))

    def cat(key):
        return pd.concat([getattr(p, key) for p in parts.values()], ignore_index=True)

    gcols = {p.groups for p in parts.values()} - {None}
    return ModelResult(
        metric=metric,
        baseline=baseline,
        candidate=candidate,
        confidence_level=level,
        formulas={t: p.formula for t, p in parts.items()},
        effects=cat("effects"),
        elasticities=cat("elasticities"),
        coefficients=cat("coefficients"),
        anova=cat("anova")[["test", "term", "sum_sq", "df", "F", "pvalue"]],
        diagnostics=pd.DataFrame([p.diagnostics for p in parts.values()]),
        residuals=cat("residuals"),
        raw_vs_adjusted=cat("raw_vs_adjusted"),
        notes=tuple(notes),
        not_fitted=pd.DataFrame(not_fitted, columns=["test", "reason"], dtype=object),
        groups=", ".join(sorted(gcols)) or None,
        frame=cat("frame"),
        fits={t: p.ols for t, p in parts.items()},
        mixed_fits={t: p.mixed for t, p in parts.items()},
    )


# --------------------------------------------------------------------------------------------------------------
# formatting


def _fmt(x: Any, spec: str = ".4g") -> str:
    if isinstance(x, float | np.floating):
        return "" if not np.isfinite(x) else format(float(x), spec)
    return str(x)


def _text_table(df: pd.DataFrame, specs: dict[str, str]) -> list[str]:
    cells = [[_fmt(v, specs.get(c, ".4g")) for c, v in row.items()] for _, row in df.iterrows()]
    header = list(df.columns)
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return lines


def format_model(result: ModelResult) -> str:
    """The text summary of a :class:`ModelResult` (statsmodels style: header, tables, numbered notes)."""
    width = 100
    pct = f"{100 * result.confidence_level:.4g}%"
    out = ["=" * width, f"Log-metric regression: {result.metric}, ratio {result.candidate} / {result.baseline}".center(width), "=" * width]
    for t in result.tests:
        d = result.diagnostics[result.diagnostics["test"] == t].iloc[0]
        out += [
            f"Test: {t:<30} No. runs: {int(d['n']):<8} R-squared: {d['r_squared']:.3f} (model and size only: "
            f"{d['r_squared_raw']:.3f})",
            f"Formula: {result.formulas[t]}",
            f"Errors: {'MixedLM random intercept by ' + d['groups'] if d['groups'] else 'OLS, HC3 robust'}",
            "-" * width,
        ]
        e = result.effects[result.effects["test"] == t]
        el = result.elasticities[result.elasticities["test"] == t].set_index("msg_size_bytes")
        rv = result.raw_vs_adjusted[result.raw_vs_adjusted["test"] == t].set_index("msg_size_bytes")
        tab = pd.DataFrame(
            {
                "size_B": e["msg_size_bytes"].to_numpy(),
                "n_b/n_c": [f"{a}/{b}" for a, b in zip(e["n_baseline"], e["n_candidate"], strict=True)],
                "ratio": e["estimate"].to_numpy(),
                f"[{pct}": e["ci_low"].to_numpy(),
                "CI]": e["ci_high"].to_numpy(),
                "P>|t|": e["pvalue"].to_numpy(),
                "raw_ratio": rv.loc[e["msg_size_bytes"], "raw_ratio"].to_numpy(),
                "explained%": rv.loc[e["msg_size_bytes"], "explained_pct"].to_numpy(),
                "elasticity": el.loc[e["msg_size_bytes"], "elasticity"].to_numpy(),
                "[CI": el.loc[e["msg_size_bytes"], "ci_low"].to_numpy(),
                "CI] ": el.loc[e["msg_size_bytes"], "ci_high"].to_numpy(),
                "clock": el.loc[e["msg_size_bytes"], "reading"].to_numpy(),
            }
        )
        out += _text_table(tab, {"ratio": ".4f", f"[{pct}": ".4f", "CI]": ".4f", "P>|t|": ".3g",
                                 "raw_ratio": ".4f", "explained%": ".1f", "elasticity": ".3f", "[CI": ".3f",
                                 "CI] ": ".3f"})
        out.append("-" * width)
        out.append(
            f"Breusch-Pagan LM: {_fmt(d['breusch_pagan_lm'], '.3f')} (p = {_fmt(d['breusch_pagan_pvalue'], '.3g')})"
            f"   Influential runs (Cook's D > {d['cooks_threshold']:.3g}): {int(d['n_influential'])}"
        )
        if d["influential_runs"]:
            runs = d["influential_runs"].split(", ")
            more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
            out.append("  " + ", ".join(runs[:5]) + more)
        if np.isfinite(d["group_variance"]):
            out.append(f"Random-intercept variance ({d['groups']}): {d['group_variance']:.4g}")
        out.append("=" * width)
    if result.notes:
        out.append("Notes:")
        out += [f"[{i}] {n}" for i, n in enumerate(result.notes, 1)]
    return "\n".join(out)


# ------------------------------------------------------------------------------------------- one fit per metric
# (the notebooks' and the report's entry point: every metric modelled, or listed with why not)

__all__ += ["ModelSetResult", "fit_models", "primary_metrics"]


@dataclass(frozen=True)
class ModelSetResult:
    """:func:`analysis.model.fit_model` for several metrics: the per-metric results and tidy tables of them all.

    Attributes
    ----------
    results : dict
        metric -> :class:`analysis.model.ModelResult`.
    skipped : tuple of (metric, reason)
        Metrics that could not be modelled, with the error message.

    Every requested metric is either in ``results`` or in ``skipped``; :attr:`not_fitted` lists what has no fit
    (a whole metric, or one test of a fitted metric) with the reason.
    """

    results: dict[str, Any]
    skipped: tuple[tuple[str, str], ...] = ()

    def _cat(self, table: Any) -> pd.DataFrame:
        parts = [table(r).assign(metric=m) for m, r in self.results.items()]
        if not parts:
            return pd.DataFrame({"metric": pd.Series(dtype="string")})
        out = pd.concat(parts, ignore_index=True)
        return out[["metric", *[c for c in out.columns if c != "metric"]]]

    def to_frame(self) -> pd.DataFrame:
        """Model ratios and clock elasticities per metric, test and message size (``ModelResult.to_frame``)."""
        return self._cat(lambda r: r.to_frame())

    @property
    def raw_vs_adjusted(self) -> pd.DataFrame:
        return self._cat(lambda r: r.raw_vs_adjusted)

    @property
    def diagnostics(self) -> pd.DataFrame:
        return self._cat(lambda r: r.diagnostics)

    @property
    def not_fitted(self) -> pd.DataFrame:
        """One row per metric or test without a fit: ``metric, test`` (``all tests`` for a whole metric),
        ``reason``."""
        rows = [(m, "all tests", why) for m, why in self.skipped]
        rows += [(m, t, why) for m, r in self.results.items()
                 for t, why in zip(r.not_fitted["test"], r.not_fitted["reason"], strict=True)]
        return pd.DataFrame(rows, columns=["metric", "test", "reason"], dtype=object)

    @property
    def notes(self) -> tuple[str, ...]:
        out = [f"{m}: {n}" for m, r in self.results.items() for n in r.notes]
        out += [f"{m}: not modelled: {why}" for m, why in self.skipped]
        return tuple(out)

    def summary(self) -> str:
        parts = [r.summary() for r in self.results.values()]
        parts += [f"{m}: not modelled: {why}" for m, why in self.skipped]
        return "\n\n".join(parts) if parts else "no metric modelled"

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def primary_metrics(campaign) -> list[str]:
    """The campaign's primary metrics: those of :data:`analysis.audit.PRIMARY_METRICS` it measures, in order."""
    from analysis.audit import PRIMARY_METRICS

    measured = set(campaign.measurements["metric"].dropna().astype(str))
    return [m for m in PRIMARY_METRICS if m in measured]


def _fit_models_iv(campaign, metrics):
    measured = set(campaign.measurements["metric"].dropna().astype(str))
    if metrics is None:
        chosen = primary_metrics(campaign)
        if not chosen:
            from analysis.audit import PRIMARY_METRICS

            raise ValueError(f"metrics: the campaign measures none of {list(PRIMARY_METRICS)}; name the metrics")
        return chosen
    if isinstance(metrics, str):
        metrics = [metrics]
    missing = [m for m in metrics if m not in measured]
    if missing:
        raise ValueError(f"metrics: {missing} not measured in campaign {campaign.name!r}; it has {sorted(measured)}")
    return list(metrics)


def fit_models(campaign, *, baseline: str, candidate: str, metrics: Sequence[str] | None = None,
               confidence_level: float = 0.95) -> ModelSetResult:
    """:func:`analysis.model.fit_model` for each metric (default: the primary rate metrics measured).

    A metric no test can model (e.g. measured by one model only, or the two models ran at disjoint message
    sizes) is listed in ``skipped`` with the reason rather than stopping the report.
    """
    chosen = _fit_models_iv(campaign, metrics)
    results: dict[str, Any] = {}
    skipped: list[tuple[str, str]] = []
    for metric in chosen:
        try:
            results[metric] = fit_model(campaign, metric=metric, baseline=baseline, candidate=candidate,
                                        confidence_level=confidence_level)
        except (ValueError, np.linalg.LinAlgError, patsy.PatsyError) as exc:
            skipped.append((metric, str(exc)))
    return ModelSetResult(results=results, skipped=tuple(skipped))
