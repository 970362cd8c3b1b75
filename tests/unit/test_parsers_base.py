"""The shared pieces of the parser interface: the fast IntervalSample constructor, argument checks, ingest's GC."""

import dataclasses
import gc

import pytest

from analysis.parsers.base import IntervalSample, check_parse_args, new_interval

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("stream", [None, 3])
def test_new_interval_builds_the_same_object_as_the_dataclass(stream):
    fast = new_interval("throughput_bps", 1.0, 2.0, 9.5e9, stream)
    slow = IntervalSample("throughput_bps", 1.0, 2.0, 9.5e9, stream)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.value = 0.0


def test_check_parse_args_names_the_argument():
    check_parse_args("text", "f.txt", None)
    with pytest.raises(TypeError, match=r"text: expected the file's content as str, got bytes"):
        check_parse_args(b"x", "f.txt", None)
    with pytest.raises(TypeError, match=r"path: expected str or pathlib.Path, got int"):
        check_parse_args("x", 3, None)
    with pytest.raises(TypeError, match=r"test: expected None or a test name \(str\), got int"):
        check_parse_args("x", "f.txt", 7)


@pytest.mark.parametrize("was_enabled", [True, False])
def test_ingest_restores_the_garbage_collector_state(tmp_path, was_enabled):
    from analysis.ingest import ingest_campaign

    (tmp_path / "manifest.csv").write_text("file,pv_model\nmissing.txt,a\n")
    (gc.enable if was_enabled else gc.disable)()
    try:
        camp = ingest_campaign(tmp_path)
        assert gc.isenabled() is was_enabled
        assert camp.rejects["reason"].tolist() == ["missing_file"]
        with pytest.raises(ValueError, match="manifest.csv"):
            (tmp_path / "manifest.csv").write_text("nofile,pv_model\nx,a\n")
            ingest_campaign(tmp_path)
        assert gc.isenabled() is was_enabled
    finally:
        gc.enable()
