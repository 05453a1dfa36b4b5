"""The bench's verdict on `jstmine update --workers 2` against plain `update` (bench/run.py)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from run import _workers_verdict  # noqa: E402


def corpus(plain: list[float], two: list[float], cores: int = 2) -> dict:
    """Corpus results as the bench keeps them: the fastest run of each, with every run's wall time."""
    return {"cores": cores, "runs": {"plain": {"wall": min(plain), "repeats": plain},
                                     "workers2": {"wall": min(two), "repeats": two}}}


def test_no_slower_is_met():
    assert _workers_verdict(corpus([32.2, 35.3, 33.0], [31.9, 34.6, 34.0])) == "met"


def test_on_two_cores_a_difference_within_the_runs_own_spread_is_still_missed_and_said_so():
    verdict = _workers_verdict(corpus([32.2, 35.3, 33.0], [33.2, 34.6, 34.0]))
    assert verdict.startswith("**missed** by 1.0 s, within the spread")
    assert "(3.1 s)" in verdict


def test_a_difference_beyond_the_spread_or_on_other_cores_is_missed():
    assert _workers_verdict(corpus([32.2, 32.5, 32.4], [34.2, 34.6, 34.0])) == "**missed**"
    assert _workers_verdict(corpus([32.2, 35.3, 33.0], [33.2, 34.6, 34.0], cores=4)) == "**missed**"
    assert _workers_verdict(corpus([32.2], [33.2])) == "**missed**"  # one run each: no spread to compare with


def test_a_cpu_use_just_under_the_target_does_not_read_as_the_target():
    from run import corpus_targets

    def row(cpu: float) -> str:
        runs = {k: {"wall": 38.4, "cpu": cpu, "repeats": [38.4]} for k in ("plain", "workers2", "workers1", "dask")}
        lines = corpus_targets({"cores": 2, "pages": 2000, "runs": runs}, 1.4, None)
        return next(line for line in lines if line.startswith("| CPU use"))

    assert "**89.9%**" in row(69.05) and row(69.05).endswith("| **missed** |")  # 89.9 %: it said "90%", missed
    assert "**90.0%**" in row(69.12) and row(69.12).endswith("| met |")
