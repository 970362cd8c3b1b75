"""Plans for sockperf: message sizes outside what sockperf 3.7 accepts are refused when the plan is read.

sockperf itself prints its usage and exits 0 for ``-m 1`` ("Invalid message size: 1 (min: 14)") or, over UDP,
``-m 65508`` ("max: 65507"), so without this check such a run would be recorded as a good one.
"""

from __future__ import annotations

import pytest

from analysis import collect as col

pytestmark = pytest.mark.unit


def _plan(sizes, options=None, model_options=None):
    tool = {"tests": ["SOCKPERF_PING_PONG"], **({"options": options} if options else {})}
    models = {"a": {"role": "baseline"}, "b": {"role": "candidate", **({"options": {"sockperf": model_options}}
                                                                       if model_options else {})}}
    return {"name": "p", "duration_s": 1, "trials": 1, "sizes": sizes, "ordering": {"seed": 1},
            "tools": {"sockperf": tool}, "models": models}


@pytest.mark.parametrize(("sizes", "bad"), [([1, 64], [1]), ([13], [13]), ([64, 65508], [65508])])
def test_sizes_sockperf_refuses_are_refused_by_the_plan(sizes, bad):
    with pytest.raises(ValueError, match=rf"p.yaml: sizes: expected message sizes sockperf accepts: 14 to 65507 "
                                         rf"bytes \(more with --tcp\), found {bad!r}".replace("[", r"\[")):
        col.parse_plan(_plan(sizes), source="p.yaml")


def test_limits_that_hold_and_tcp_lifting_the_largest():
    assert col.parse_plan(_plan([14, 65507]), source="p.yaml").sizes == (14, 65507)
    assert col.parse_plan(_plan([131072], options=["--tcp"]), source="p.yaml").sizes == (131072,)
    assert col.parse_plan(_plan([131072], model_options=["--tcp"]), source="p.yaml").sizes == (131072,)
    with pytest.raises(ValueError, match=r"14 to 65507 bytes, found \[1\]"):
        col.parse_plan(_plan([1], options=["--tcp"]), source="p.yaml")
