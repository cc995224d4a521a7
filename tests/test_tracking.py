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
