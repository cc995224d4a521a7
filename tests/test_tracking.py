import pytest

from training.config import from_dict
from training.tracking import git_state, pip_requirements, run, tracking_uri


def test_default_store_is_sqlite_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere.db")
    assert tracking_uri() == "sqlite:////elsewhere.db"


def test_a_raising_body_ends_the_run_failed(mlflow_store):
    from mlflow import MlflowClient
    cfg = from_dict({"tracking": {"experiment": "t"}})
    with pytest.raises(RuntimeError):
        with run(cfg) as active:
            run_id = active.info.run_id
            raise RuntimeError("boom")
    assert MlflowClient(mlflow_store).get_run(run_id).info.status == "FAILED"
    with run(cfg) as active:
        ok = active.info.run_id
    assert MlflowClient(mlflow_store).get_run(ok).info.status == "FINISHED"


def test_git_state_and_requirements():
    g = git_state()
    assert set(g) == {"git_commit", "git_dirty"}
    assert any(r.startswith("scikit-learn==") for r in pip_requirements())


def test_two_trainings_at_once_on_a_fresh_sqlite_store_both_land(tmp_path):
    """Both runs FINISHED and registered, and models/<name>/ whole: without the store lock one
    of them died in MLflow's schema migration ("duplicate column name: step")."""
    import os
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    from conftest import ROOT, make_corpus, write_config
    from training.predict import load_predictor
    corpus = make_corpus(tmp_path / "corpus", docs=["101_valdoria_voter_register", "102_maranta_fuel_subsidy",
                                                     "103_brenholm_port_vote", "104_castelbrook_hollis_rally"])
    cfg = write_config(tmp_path / "c.yaml", corpus, **{"evaluation.cv_folds": 0, "evaluation.bootstrap": 0,
                                                       "relevance.enabled": False})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cmd = [sys.executable, "-m", "training", "train", "--config", str(cfg), "--models-dir", str(tmp_path / "models")]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "MLFLOW_TRACKING_URI": uri},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
    client = MlflowClient(uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs(e.experiment_id)]
    assert sorted(r.info.status for r in runs) == ["FINISHED", "FINISHED"]
    assert len(client.search_model_versions("name='stance-classifier'")) == 2
    assert load_predictor(tmp_path / "models" / "fixture").labels  # whole, checksum valid


def test_runs_are_named_and_the_experiment_opens_on_training_runs(trained):
    """Run names tell runs apart (`<config>-<short commit>-<UTC time>`), and the experiment is
    tagged as model development so MLflow 3's UI opens on the runs table, not a GenAI overview."""
    import re

    from mlflow.tracking import MlflowClient
    client = MlflowClient(trained["uri"])
    exp = client.get_experiment_by_name("fixture")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    names = [r.info.run_name for r in client.search_runs(exp.experiment_id)]
    assert names and all(re.fullmatch(r"fixture-([0-9a-f]{7}|unknown)-\d{8}T\d{6}Z", n) for n in names), names
