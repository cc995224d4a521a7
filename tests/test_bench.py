"""make bench's measurements: child-process timing and the throughput row (the full bench trains
the default model and runs 22 fresh processes, so it is timed by hand, not in the test suite)."""

import sys

import pytest

from conftest import make_corpus, write_config
from training.bench import _throughput_row, _timed
from training.cli import main
from training.errors import StanceError


def test_timed_measures_a_child_and_names_a_failing_one():
    wall, rss = _timed([sys.executable, "-c", "pass"])
    assert 0 < wall < 30 and rss > 0
    with pytest.raises(StanceError, match="bench: .* failed"):
        _timed([sys.executable, "-c", "raise SystemExit('boom')"])


def test_throughput_row_on_a_trained_model(tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus", docs=["101_valdoria_voter_register", "102_maranta_fuel_subsidy",
                                                     "103_brenholm_port_vote", "104_castelbrook_hollis_rally"])
    cfg = write_config(tmp_path / "c.yaml", corpus, **{"evaluation.cv_folds": 0, "evaluation.bootstrap": 0,
                                                       "tracking.log_model": False})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["train", "--config", str(cfg), "--models-dir", str(tmp_path / "models")]) == 0
    name, value, target, ok = _throughput_row(str(cfg), str(tmp_path / "models" / "fixture"), 300)
    assert name.startswith("batch predict, 300 distinct pairs") and value.endswith("pairs/s") and target == ">= 5,000"
    assert isinstance(ok, bool)
