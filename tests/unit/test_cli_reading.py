"""``pvfair compare`` and ``pvfair audit`` on the demo campaign: 80 columns, every verdict word, the notebook's
verdicts; parameters taken from the notebooks' parameters cells."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from analysis.cli import main, notebook_call_kwargs
from analysis.compare import compare
from analysis.vocabulary import CELL_KEY, verdict_label

pytestmark = pytest.mark.unit

DEMO = "data/raw/demo"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _notebook_compare(**overrides):
    """compare() called as notebooks/04_compare.py calls it, with that notebook's defaults written out."""
    from analysis.ingest import load_campaign
    from analysis.normalize import normalize
    from analysis.notebook import infer_models, resolve_campaign

    data = normalize(load_campaign(resolve_campaign(DEMO)))
    baseline, candidate = infer_models(data, None, None)
    kwargs = dict(metrics=None, margin=0.05, alpha=0.05, correction="holm", statistic="mean", n_resamples=9999,
                  rng=2009) | overrides
    return compare(data, baseline=baseline, candidate=candidate, **kwargs)


def test_defaults_and_types_come_from_the_notebook():
    kw = notebook_call_kwargs("04_compare", compare, ["alpha=0.01", "metrics=throughput_bps"], baseline="b",
                              candidate=None)
    assert kw == {"baseline": "b", "candidate": None, "metrics": ["throughput_bps"], "margin": 0.05, "alpha": 0.01,
                  "correction": "holm", "statistic": "mean", "n_resamples": 9999, "rng": 2009}


@pytest.mark.parametrize(("argv", "match"), [
    (["-p", "nosuch=1"], "parameter 'nosuch': not a parameter of 04_compare"),
    (["-p", "output_dir=x"], "parameter 'output_dir'"),
    (["-p", "alpha=lots"], "parameter 'alpha': expected float"),
    (["-p", "alpha"], "-p: expected key=value"),
    (["--baseline", "venet", "-p", "baseline=venet"], "given both as --baseline and -p baseline"),
    (["--baseline", "nosuch"], "baseline: PV model 'nosuch' is not in campaign 'demo'"),
])  # fmt: skip
def test_bad_parameters_are_refused_by_name(capsys, argv, match):
    code, out, err = _run(capsys, "compare", DEMO, *argv)
    assert code == 2 and out == ""
    assert match in err


def test_demo_text_fits_80_columns_and_equals_the_notebook_verdicts(capsys):
    code, out, err = _run(capsys, "compare", DEMO)
    assert code == 0
    assert "pvfair compare: loading" in err and "pvfair compare" not in out.splitlines()[1]  # progress on stderr
    assert max(len(line) for line in out.splitlines()) <= 80
    expected = _notebook_compare().to_frame()
    present = set(expected["verdict"])
    assert len(present) >= 3
    for v in present:
        assert verdict_label(v, 0.05) in out, v
    findings = _notebook_compare().audit.findings
    shown = findings[findings["severity"].isin(["error", "warn"])]
    notes = out[out.index("Audit errors and warnings"):]
    assert sum(1 for line in notes.splitlines() if line[:3].strip().rstrip(".").isdigit()) == len(shown)
    code, csv_out, _ = _run(capsys, "compare", DEMO, "--format", "csv")
    got = pd.read_csv(io.StringIO(csv_out))
    keys = ["test", "msg_size_bytes", "pinning", "metric"]
    merged = expected.merge(got, on=keys, suffixes=("_nb", "_cli"), validate="one_to_one")
    assert len(merged) == len(expected) == len(got)
    assert (merged["verdict_nb"] == merged["verdict_cli"]).all()
    want = merged["runs_needed_nb"].astype(float).where(merged["verdict_nb"] == "inconclusive")
    pd.testing.assert_series_equal(want, merged["runs_needed_cli"].astype(float), check_names=False)
    assert want.notna().any()


def test_demo_seed_is_the_notebooks_seed(capsys):
    """The command computes what the notebook computes; another seed changes only the bootstrap-route intervals (the
    t routes of small cells are exact, seed-free)."""
    _, a, _ = _run(capsys, "compare", DEMO, "--format", "csv", "-p", "n_resamples=999")
    _, b, _ = _run(capsys, "compare", DEMO, "--format", "csv", "-p", "n_resamples=999", "-p", "seed=1")
    ta, tb = pd.read_csv(io.StringIO(a)), pd.read_csv(io.StringIO(b))
    ref = _notebook_compare(n_resamples=999).to_frame()
    raw = ref["headline"] == "raw"
    assert raw.any()
    got = ta.set_index(["test", "msg_size_bytes", "pinning", "metric"])
    want = ref.set_index(["test", "msg_size_bytes", "pinning", "metric"])
    assert (got.loc[want.index, "ci_low_pct"] - (want["ci_low"] - 1) * 100).abs().max() < 1e-9
    boot = ta["route"].astype(str).str.startswith("bootstrap").to_numpy()
    assert ta.loc[~boot, "ci_low_pct"].equals(tb.loc[~boot, "ci_low_pct"])
    if boot.any():
        assert not ta.loc[boot, "ci_low_pct"].equals(tb.loc[boot, "ci_low_pct"])


def test_demo_audit_lists_the_errors_and_warnings(capsys):
    code, out, _ = _run(capsys, "audit", DEMO)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "Errors (7)" in out and "Warnings (10)" in out
    code, md, _ = _run(capsys, "audit", DEMO, "--format", "markdown")
    assert "### Errors (7)" in md and "| check | cell | model | detail | suggestion |" in md
    code, js, _ = _run(capsys, "audit", DEMO, "--format", "json", "-p", "baseline=venet")
    assert '"baseline": "venet"' in js


def test_whatever_the_stages_print_goes_to_stderr(capsys, monkeypatch):
    """stdout carries only the table (so `pvfair compare ... --format csv > t.csv` is clean)."""
    import functools

    import analysis.compare as cmp

    real = cmp.compare

    @functools.wraps(real)
    def noisy(*args, **kwargs):
        print("compiling resampling kernels, first run only")
        return real(*args, **kwargs)

    monkeypatch.setattr(cmp, "compare", noisy)
    code, out, err = _run(capsys, "compare", DEMO, "-p", "n_resamples=999", "--format", "csv")
    assert code == 0
    assert "compiling resampling kernels" in err and "compiling" not in out
    assert out.splitlines()[0].startswith(",".join([*CELL_KEY, "metric", ""]))


def test_a_campaign_with_no_comparable_cell_gets_the_audits_reasons(tmp_path, capsys):
    from analysis.simulate import CampaignSpec, simulate_campaign

    folder = simulate_campaign(tmp_path / "thin", CampaignSpec(tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64,),
                                                                trials=2), seed=1)
    code, out, err = _run(capsys, "compare", str(folder), "-p", "n_resamples=199")
    assert code == 0  # an unfair or thin campaign is a result, not an error
    assert "No cell could be compared" in out and "cells: 0 compared; 1 not compared" in out
    assert "error too_few_runs" in out and "too few runs: 2 of virtio-net+vhost, 2 of venet" in out
    assert max(len(line) for line in out.splitlines()) <= 80
