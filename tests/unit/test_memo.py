"""analysis.memo and the memos behind load_campaign, normalize, audit, compare and fit_model: hits on equal content, misses on
changed inputs or parameters, uncached without a seed, and a hit equal to a fresh computation."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from analysis.audit import audit
from analysis.compare import compare
from analysis.ingest import load_campaign
from analysis.memo import Memo, cache_info, caching, clear_caches, content_key, frame_digest, memoized
from analysis.model import fit_model
from analysis.normalize import normalize
from analysis.simulate import CampaignSpec, simulate_campaign

pytestmark = pytest.mark.unit

BASE, CAND = "virtio-net+vhost", "venet"
FAST = {"n_resamples": 199, "rng": 5}


def _info(name: str) -> dict:
    row = cache_info().set_index("name").loc[name]
    return {"hits": int(row["hits"]), "misses": int(row["misses"]), "uncached": int(row["uncached"])}


@pytest.fixture(autouse=True)
def _fresh():
    clear_caches()
    yield
    clear_caches()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    spec = CampaignSpec(name="memo", tests=("TCP_STREAM",), stream_msg_sizes_bytes=(64, 16384), trials=4,
                        low_clock=(CAND, 0.5, 1600.0))
    return simulate_campaign(tmp_path_factory.mktemp("memo") / "memo", spec, seed=3)


# --- digests and keys --------------------------------------------------------------------------------------------


def test_frame_digest_is_by_content():
    a = pd.DataFrame({"x": [1.0, 2.0, np.nan], "s": pd.array(["a", None, "c"], dtype="string"),
                      "n": pd.array([1, None, 3], dtype="Int64")})
    assert frame_digest(a) == frame_digest(a.copy()) == frame_digest(pd.DataFrame(a.to_dict("list")).astype(a.dtypes))
    changed = [a.assign(x=[1.0, 2.0, 3.0]), a.assign(s=["a", "b", "c"]), a.rename(columns={"x": "y"}),
               a.iloc[::-1], a.astype({"x": "float32"}), a.set_axis([5, 6, 7])]
    digests = {frame_digest(f) for f in changed} | {frame_digest(a)}
    assert len(digests) == len(changed) + 1
    assert frame_digest(a["x"]) != frame_digest(a["x"].rename("z"))
    with_lists = pd.DataFrame({"v": [[1, 2], [3]]})  # unhashable values: pickled
    assert frame_digest(with_lists) == frame_digest(with_lists.copy())
    assert frame_digest(with_lists) != frame_digest(pd.DataFrame({"v": [[1, 2], [4]]}))


def test_frame_digest_bad_input():
    with pytest.raises(TypeError, match="frame: expected a pandas DataFrame or Series, got list"):
        frame_digest([1, 2])


def test_content_key():
    k = content_key("f", {"b": 1, "a": [1, 2.5, None]}, np.arange(3), np.int64(4))
    assert k == content_key("f", {"a": (1, 2.5, None), "b": 1}, np.arange(3), np.int64(4))
    assert k != content_key("f", {"b": 1, "a": [1, 2.5, None]}, np.arange(3), np.int64(5))
    assert content_key(1) != content_key(1.0) != content_key("1")
    assert content_key(True) != content_key(1)
    assert content_key(np.random.default_rng(0)) is None
    assert content_key([object()]) is None
    assert content_key(np.array([object()])) is None


# --- the store ---------------------------------------------------------------------------------------------------


def test_memo_lru_and_uncached():
    m = Memo("test lru", maxsize=2)
    calls = []

    def compute(v):
        calls.append(v)
        return [v]

    first = m.get_or_compute("a", lambda: compute("a"))
    assert m.get_or_compute("a", lambda: compute("again")) is first
    m.get_or_compute("b", lambda: compute("b"))
    m.get_or_compute("c", lambda: compute("c"))  # drops "a", the least recently used
    m.get_or_compute("a", lambda: compute("a2"))
    m.get_or_compute(None, lambda: compute("none"))
    m.get_or_compute(None, lambda: compute("none"))
    assert calls == ["a", "b", "c", "a2", "none", "none"]
    assert (m.hits, m.misses, m.uncached, len(m._store)) == (1, 4, 2, 2)
    with caching(False):
        m.get_or_compute("a", lambda: compute("off"))
    assert calls[-1] == "off" and m.uncached == 3
    with pytest.raises(RuntimeError):
        m.get_or_compute("boom", lambda: (_ for _ in ()).throw(RuntimeError("x")))
    assert "boom" not in m._store
    assert "test lru" in repr(m)


def test_memo_bad_arguments():
    with pytest.raises(ValueError, match="maxsize: expected a positive integer, got 0"):
        Memo("bad", maxsize=0)
    with pytest.raises(TypeError, match="enabled: expected True or False, got 'no'"):
        with caching("no"):
            pass
    with pytest.raises(TypeError, match="fn: expected a function, got int"):
        memoized(3)


def test_memoized_fills_defaults_and_shares_one_store():
    calls = []

    def scale(frame, *, factor=2):
        calls.append(factor)
        return frame * factor

    f = pd.DataFrame({"x": [1, 2]})
    a = memoized(scale)(f, factor=2)
    assert memoized(scale)(f.copy()) is a  # default filled in, equal content, same wrapper
    memoized(scale)(f, factor=3)
    memoized(scale)(f.assign(x=[1, 3]))
    assert calls == [2, 3, 2]
    with pytest.raises(TypeError):  # a bad call reaches the function unchanged
        memoized(scale)(f, 1, 2)


def test_no_cache_environment_variable():
    import subprocess
    import sys

    code = ("from analysis.memo import Memo\nm = Memo('env')\nm.get_or_compute('k', lambda: 1)\n"
            "m.get_or_compute('k', lambda: 1)\nprint(m.hits, m.uncached)")
    env = {**os.environ, "PVFAIR_NO_CACHE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "2"]


# --- load_campaign ------------------------------------------------------------------------------------------------


def test_load_campaign_memo_hit_isolation_and_miss_on_change(folder, tmp_path):
    a = load_campaign(folder)
    b = load_campaign(str(folder))
    assert _info("load_campaign") == {"hits": 1, "misses": 1, "uncached": 0}
    assert a is not b and a.runs is not b.runs
    pd.testing.assert_frame_equal(a.runs, b.runs)
    fresh = load_campaign(folder, cache=False)
    for t in ("runs", "measurements", "intervals", "rejects"):
        pd.testing.assert_frame_equal(getattr(b, t), getattr(fresh, t))
    assert b.summary == fresh.summary
    # one caller's changes never reach another
    a.runs.loc[a.runs.index[0], "pv_model"] = "changed"
    a.runs["extra"] = 1
    a.summary["seen"] = -1
    c = load_campaign(folder)
    assert c.runs["pv_model"].iloc[0] != "changed" and "extra" not in c.runs and c.summary["seen"] != -1
    # a copy of the folder with one file changed is a different key
    import shutil

    copy = shutil.copytree(folder, tmp_path / "memo")
    load_campaign(copy)
    misses = _info("load_campaign")["misses"]
    victim = sorted(p for p in copy.iterdir() if p.name != "manifest.csv" and p.suffix == ".txt")[0]
    victim.write_text(victim.read_text() + "\n")
    os.utime(victim, ns=(victim.stat().st_atime_ns, victim.stat().st_mtime_ns + 10**9))
    load_campaign(copy)
    assert _info("load_campaign")["misses"] == misses + 1


# --- audit, compare, fit_model -------------------------------------------------------------------------------------


def test_compare_memo_same_result_and_equal_to_a_fresh_computation(folder):
    data = normalize(load_campaign(folder))
    r1 = compare(data, baseline=BASE, candidate=CAND, **FAST)
    r2 = compare(normalize(load_campaign(folder)), baseline=BASE, candidate=CAND, **FAST)
    assert r2 is r1
    assert _info("compare") == {"hits": 1, "misses": 1, "uncached": 0}
    with caching(False):
        fresh = compare(data, baseline=BASE, candidate=CAND, **FAST)
    assert fresh is not r1
    pd.testing.assert_frame_equal(fresh.to_frame(), r1.to_frame())
    for k, dist in r1.distributions.items():
        np.testing.assert_array_equal(fresh.distributions[k], dist)


@pytest.mark.parametrize("change", [
    {"alpha": 0.1}, {"n_resamples": 299}, {"rng": 6}, {"statistic": "median"},
    {"metrics": ["throughput_bps"], "headline": "raw"}, {"exclude_warmup": False},
])
def test_compare_memo_misses_on_changed_parameters(folder, change):
    data = normalize(load_campaign(folder))
    r1 = compare(data, baseline=BASE, candidate=CAND, **FAST)
    r2 = compare(data, baseline=BASE, candidate=CAND, **{**FAST, **change})
    assert r2 is not r1
    assert _info("compare")["misses"] == 2


def test_compare_memo_misses_on_changed_tables_and_skips_unseeded(folder):
    data = normalize(load_campaign(folder))
    r1 = compare(data, baseline=BASE, candidate=CAND, **FAST)
    m = data.measurements.copy()
    m.loc[m.index[0], "value"] = m["value"].iloc[0] * 1.5
    changed = type(data)(data.name, data.runs, m, data.intervals, data.rejects, root=data.root, summary=data.summary)
    assert compare(changed, baseline=BASE, candidate=CAND, **FAST) is not r1
    gen = np.random.default_rng(5)
    assert compare(data, baseline=BASE, candidate=CAND, n_resamples=199, rng=gen) is not r1
    compare(data, baseline=BASE, candidate=CAND, n_resamples=199, rng=None)
    assert _info("compare") == {"hits": 0, "misses": 2, "uncached": 2}
    with pytest.raises(ValueError, match="alpha: expected a level in"):  # validation runs before the memo
        compare(data, baseline=BASE, candidate=CAND, alpha=0.7, **FAST)


def test_audit_memoized_inside_and_shared_with_compare(folder):
    data = normalize(load_campaign(folder))
    a = audit(data, baseline=BASE, candidate=CAND)
    assert audit(normalize(load_campaign(folder)), baseline=BASE, candidate=CAND) is a  # equal content: a hit
    assert audit(data, baseline=BASE) is a  # the inferred candidate keys like the named one
    assert _info("audit") == {"hits": 2, "misses": 1, "uncached": 0}
    r = compare(data, baseline=BASE, candidate=CAND, **FAST)
    assert r.audit is a
    assert audit(data, baseline=BASE, candidate=CAND, exclude_outliers=True) is not a
    with caching(False):
        fresh = audit(data, baseline=BASE, candidate=CAND)
    assert fresh is not a
    pd.testing.assert_frame_equal(fresh.findings, a.findings)
    pd.testing.assert_frame_equal(fresh.coverage, a.coverage)
    with pytest.raises(ValueError, match="baseline: 'nope' is not a pv_model"):  # validation runs before the memo
        audit(data, baseline="nope", candidate=CAND)


def test_normalize_memo_hit_is_an_isolated_equal_campaign(folder):
    raw = load_campaign(folder)
    a = normalize(raw)
    b = normalize(load_campaign(folder))
    assert _info("normalize") == {"hits": 1, "misses": 1, "uncached": 0}
    assert a is not b and a.runs is not b.runs and a.measurements is not b.measurements
    with caching(False):
        fresh = normalize(raw)
    for t in ("runs", "measurements", "intervals", "rejects", "ignored"):
        pd.testing.assert_frame_equal(getattr(b, t), getattr(fresh, t))
    assert b.summary == fresh.summary
    a.runs["extra"] = 1  # one caller's changes never reach another
    a.summary["normalize"]["metrics"].append("changed")
    c = normalize(raw)
    assert "extra" not in c.runs and "changed" not in c.summary["normalize"]["metrics"]
    normalize(raw, reference_ghz=2.0)
    assert _info("normalize")["misses"] == 2


def test_every_shared_stage_memoizes_inside_itself():
    """The rule of analysis.memo: each stage carries its own memo; memoized() of a stage is the stage."""
    from analysis.memo import memoizes

    for stage, name in ((load_campaign, "load_campaign"), (normalize, "normalize"), (audit, "audit"),
                        (compare, "compare")):
        assert isinstance(stage.memo, Memo) and stage.memo.name == name
        assert memoized(stage) is stage
    assert "fit_model (per test)" in set(cache_info()["name"])
    with pytest.raises(TypeError, match="memo: expected a Memo"):
        memoizes("audit")


def test_fit_model_memo_per_test_replays_notes(folder):
    data = normalize(load_campaign(folder))
    m1 = fit_model(data, metric="throughput_bps", baseline=BASE, candidate=CAND)
    before = _info("fit_model (per test)")
    m2 = fit_model(data, metric="throughput_bps", baseline=BASE, candidate=CAND)
    after = _info("fit_model (per test)")
    assert after["hits"] == before["hits"] + len(m1.tests) and after["misses"] == before["misses"]
    assert m2.notes == m1.notes
    with caching(False):
        fresh = fit_model(data, metric="throughput_bps", baseline=BASE, candidate=CAND)
    pd.testing.assert_frame_equal(fresh.to_frame(), m2.to_frame())
    pd.testing.assert_frame_equal(fresh.coefficients, m2.coefficients)
    fit_model(data, metric="throughput_bps", baseline=BASE, candidate=CAND, confidence_level=0.9)
    assert _info("fit_model (per test)")["misses"] == after["misses"] + len(m1.tests)
