"""The verdict, audit and model tables of the demo and of a set of test campaigns, for the behaviour test.

``python scripts/golden_tables.py --write`` stores them under ``tests/data/golden/`` (Parquet: floats exactly);
``tests/unit/test_tables_unchanged.py`` recomputes them and compares. A refactor must leave every table identical;
a change that means to alter a table rewrites the golden files in the same commit and says why.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"
BASE, CAND = "virtio-net+vhost", "venet"
N_RESAMPLES = 999


def _specs():
    from analysis.simulate import CampaignSpec

    return {
        "three_runs": CampaignSpec(name="three_runs", tests=("TCP_STREAM", "TCP_RR", "UDP_RR"),
                                   stream_msg_sizes_bytes=(64, 1024), pinnings=("split", "same-core"), trials=3,
                                   cv=0.08, true_ratio=0.7),
        "rounds_drift": CampaignSpec(name="rounds_drift", tests=("TCP_STREAM", "TCP_RR"),
                                     stream_msg_sizes_bytes=(64, 16384), trials=6, cv=0.02,
                                     drift_per_run={BASE: 0.002, CAND: 0.002}),
        "skewed_2009": CampaignSpec(
            name="skewed_2009", tests=("TCP_STREAM", "TCP_RR"), stream_msg_sizes_bytes=(64, 1024),
            pinnings=("same-core", "split"), trials=6, cv=0.03,
            pinning_mix={BASE: {"same-core": 0.8, "split": 0.2}, CAND: {"same-core": 0.3, "split": 0.7}},
            low_clock=(CAND, 0.5, 1600.0), pinning_effect={"same-core": 0.85}),
        "unfair": CampaignSpec(name="unfair", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 1024),
                               pinnings=("same-core", "split"), trials=4,
                               pinning_mix={BASE: {"same-core": 1.0}, CAND: {"split": 1.0}}),
    }


def _campaigns(tmp: Path) -> Iterator[tuple[str, object, str, str]]:
    from analysis.ingest import load_campaign
    from analysis.simulate import simulate_campaign

    yield "demo", load_campaign(ROOT / "data" / "raw" / "demo"), BASE, CAND
    for i, (name, spec) in enumerate(_specs().items()):
        yield name, load_campaign(simulate_campaign(tmp / name, spec, seed=70 + i)), BASE, CAND


def _tables(campaign, baseline: str, candidate: str) -> dict[str, pd.DataFrame]:
    from analysis.audit import audit
    from analysis.compare import compare
    from analysis.model import fit_models
    c = compare(campaign, baseline=baseline, candidate=candidate, n_resamples=N_RESAMPLES, rng=1)
    a = audit(campaign, baseline=baseline, candidate=candidate)
    m = fit_models(campaign, baseline=baseline, candidate=candidate)
    return {"verdicts": c.to_frame(), "excluded": c.excluded, "findings": a.to_frame(),
            "coverage": a.coverage, "balance": a.balance, "model": m.to_frame(), "not_fitted": m.not_fitted,
            "diagnostics": m.diagnostics, "raw_vs_adjusted": m.raw_vs_adjusted,
            # pinning left to the regression: the thin design's cells are compared by test and size
            "verdicts_by_size": compare(campaign, baseline=baseline, candidate=candidate, by=("test", "msg_size_bytes"),
                                        n_resamples=N_RESAMPLES, rng=2).to_frame()}


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str | float | int | bool) else repr(v))
    return out


def golden_tables() -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(campaign, table, frame) for every golden table, computed by the code as it is now."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, camp, b, c in _campaigns(Path(tmp)):
            for table, frame in _tables(camp, b, c).items():
                yield name, table, _storable(frame)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="(re)write tests/data/golden/*.parquet")
    args = ap.parse_args()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, table, frame in golden_tables():
        path = GOLDEN / f"{name}.{table}.parquet"
        if args.write:
            frame.to_parquet(path, index=False)
        print(f"{path.relative_to(ROOT)}: {len(frame)} rows x {frame.shape[1]} columns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
