"""Statistics engine (numpy/scipy/numba only, no file I/O): bootstrap CIs of ratios, tests, TOST, multiplicity,
power. Resampling runs in compiled kernels (``_kernels``, imported on first use); validity by simulation in
``tests/validity``, speed and memory in ``benchmarks/bench_bootstrap.py``.

::

    ratio_ci(baseline, candidate, *, statistic, method, confidence_level, n_resamples, rng, groups,
             expand, progress)                                                               -> RatioResult
    ratio_ci_batch(cells, *, statistic, method, confidence_level, n_resamples, rng, expand)  -> list[RatioResult]
    permutation_test_ratio(baseline, candidate, *, statistic, alternative, n_resamples, rng) -> TestResult
    welch_log(baseline, candidate, *, alternative)                                           -> TestResult
    mann_whitney(baseline, candidate, *, alternative)                                        -> TestResult
    tost_ratio(baseline, candidate, *, margin, alpha, method, n_resamples, rng, statistic,
               ci_method, expand)                                                            -> TOSTResult
    adjust_pvalues(pvalues, *, method)                                                       -> ndarray
    simultaneous_confidence_level(confidence_level, m, *, method)                            -> float
    runs_needed(baseline, candidate, *, goal, margin, power, alpha, half_width,
                assumed_ratio, max_n)                                                       -> RunsNeededResult
    log_t(baseline, candidate, *, prior_baseline, prior_candidate)                           -> LogTResult
    paired_log_t(baseline, candidate, *, prior)                                              -> LogTResult
    moderated_variances(variances, dfs)                                                      -> VariancePrior
    permutation_min_pvalue(n_baseline, n_candidate)                                          -> float
    bca_interval(theta_hat, bootstrap_distribution, jackknife, *, confidence_level)          -> BCaResult
"""

from ._results import BCaResult, ConfidenceInterval, RatioResult, RunsNeededResult, TestResult, TOSTResult
from .bootstrap import bca_interval, ratio_ci, ratio_ci_batch
from .equivalence import equivalence_bounds, tost_ratio
from .multiplicity import adjust_pvalues, simultaneous_confidence_level
from .power import runs_needed
from .small_sample import (
    NO_PRIOR,
    LogTResult,
    VariancePrior,
    log_t,
    moderated_variances,
    paired_log_t,
    permutation_min_pvalue,
)
from .tests import mann_whitney, permutation_test_ratio, welch_log

__all__ = [
    "ConfidenceInterval",
    "BCaResult",
    "RatioResult",
    "TestResult",
    "TOSTResult",
    "RunsNeededResult",
    "ratio_ci",
    "ratio_ci_batch",
    "bca_interval",
    "permutation_test_ratio",
    "welch_log",
    "mann_whitney",
    "tost_ratio",
    "equivalence_bounds",
    "adjust_pvalues",
    "simultaneous_confidence_level",
    "runs_needed",
    "LogTResult",
    "VariancePrior",
    "NO_PRIOR",
    "log_t",
    "paired_log_t",
    "moderated_variances",
    "permutation_min_pvalue",
]
