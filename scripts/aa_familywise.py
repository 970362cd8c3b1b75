"""A/A family-wise rate of the full pipeline (simulate -> load_campaign -> compare) against an independent
reference on the same campaigns (issue 16).

For every seed the campaign is simulated with true ratio 1.0 and loaded; ``compare`` gives its verdicts, and the
reference recomputes each cell's paired t on the logs from the loaded measurements alone
(``scipy.stats.ttest_1samp`` of ``log(c_i / b_i)`` by trial) with Holm over the cells. The script prints both
rates of "any faster/slower call (within the margin or not)", their Monte-Carlo standard errors, the exact rate of
Holm over m independent exact tests ``1 - (1 - alpha / m)^m``, and the number of campaigns on which the pipeline
and the reference disagree. ``--reference-only`` skips compare (ten times faster) for long seed ranges once the
two are known to agree.

Usage::

    PYTHONPATH=$PWD python scripts/aa_familywise.py drift 300 700
    PYTHONPATH=$PWD python scripts/aa_familywise.py drift 300 3300 --reference-only
    PYTHONPATH=$PWD python scripts/aa_familywise.py aa5 1000 1200

Designs: ``drift`` / ``nodrift`` (tests/validity/test_real_campaign_validity.py, rounds with drift: 4 cells,
6 rounds, CV 1 %), ``aa5`` (tests/validity/test_compare_validity.py A/A: 5 cells, 5 rounds, CV 3 %).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile

import numpy as np
from scipy import stats

from analysis.compare import compare
from analysis.ingest import load_campaign
from analysis.simulate import CampaignSpec, simulate_campaign
from analysis.vocabulary import VERDICTS

BASE, CAND = "virtio-net+vhost", "venet"
ALPHA = 0.05
CALLS = tuple(v for v in VERDICTS if v.split()[0] in ("faster", "slower"))
_ROUNDS = {"tests": ("TCP_STREAM", "TCP_RR"), "stream_msg_sizes_bytes": (64, 1024, 16384), "trials": 6, "cv": 0.01}
DESIGNS = {
    "drift": CampaignSpec(name="drift", drift_per_run={BASE: 0.002, CAND: 0.002}, **_ROUNDS),
    "nodrift": CampaignSpec(name="nodrift", **_ROUNDS),
    "aa5": CampaignSpec(name="aa", tests=("TCP_STREAM", "TCP_RR", "UDP_RR"),
                        stream_msg_sizes_bytes=(64, 1024, 16384), trials=5),
}


def reference_pvalues(camp) -> np.ndarray:
    """Each cell's paired t p-value on the logs, from the loaded measurements and the runs' trial numbers."""
    m = camp.measurements[camp.measurements["metric"].isin(["throughput_bps", "transactions_per_s"])]
    x = m.merge(camp.runs[["run_id", "pv_model", "test", "msg_size_bytes", "pinning", "trial"]], on="run_id")
    out = []
    for _, g in x.groupby(["metric", "test", "msg_size_bytes", "pinning"]):
        w = g.pivot_table(index="trial", columns="pv_model", values="value")
        d = np.log(w[CAND].to_numpy(float)) - np.log(w[BASE].to_numpy(float))
        out.append(stats.ttest_1samp(d, 0.0).pvalue)
    return np.array(out)


def _rate(k: int, n: int) -> str:
    r = k / n
    return f"{k}/{n} = {100 * r:.2f} % (Monte-Carlo SE {100 * np.sqrt(r * (1 - r) / n):.2f} %)"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("design", choices=sorted(DESIGNS))
    ap.add_argument("first_seed", type=int)
    ap.add_argument("end_seed", type=int)
    ap.add_argument("--reference-only", action="store_true")
    a = ap.parse_args(argv)
    spec = DESIGNS[a.design]
    ref_calls = pipe_calls = disagree = 0
    m = 0
    for seed in range(a.first_seed, a.end_seed):
        tmp = tempfile.mkdtemp()
        try:
            camp = load_campaign(simulate_campaign(f"{tmp}/c", spec, seed=seed))
        finally:
            shutil.rmtree(tmp)
        p = reference_pvalues(camp)
        m = len(p)
        ref = bool(p.min() * m < ALPHA)  # Holm rejects anything iff its first step does
        ref_calls += ref
        if not a.reference_only:
            t = compare(camp, baseline=BASE, candidate=CAND, n_resamples=199, rng=seed).to_frame()
            pipe = bool(t["verdict"].isin(CALLS).any())
            pipe_calls += pipe
            disagree += pipe != ref
    n = a.end_seed - a.first_seed
    print(f"{a.design}, seeds {a.first_seed}-{a.end_seed - 1}, {m} cells: exact rate of Holm over {m} independent "
          f"exact tests {100 * (1 - (1 - ALPHA / m) ** m):.2f} %")
    print(f"  reference (paired t on the loaded values, Holm): {_rate(ref_calls, n)}")
    if not a.reference_only:
        print(f"  pipeline (compare, any faster/slower verdict):  {_rate(pipe_calls, n)}; campaigns where the two "
              f"disagree: {disagree}")


if __name__ == "__main__":
    main()
