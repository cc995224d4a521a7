"""Shared fixtures: a small fixture corpus (24 bundled documents copied to a temp dir), a
config for it, and an isolated MLflow store."""

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_FNC1 = ROOT.parent / "shared" / "data" / "fnc1"
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# One OpenMP thread: HistGradientBoosting's threads spin (28x slower, measured) whenever
# another process holds one of the 2 cores. Set before sklearn is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(ROOT))

# 24 documents (101-112, 701-712): fixed, so the fixture does not grow with the corpus
FIXTURE_DOCS = sorted(p.stem for p in (ROOT / "data" / "pairs").glob("*.jsonl")
                      if p.stem[:1] in "17" and 1 <= int(p.stem[1:3]) <= 12)


def make_corpus(dest: Path, docs=FIXTURE_DOCS) -> Path:
    """Copy the given documents and their annotations into dest/{seeds,data/pairs}."""
    (dest / "seeds").mkdir(parents=True, exist_ok=True)
    (dest / "data" / "pairs").mkdir(parents=True, exist_ok=True)
    for d in docs:
        shutil.copy(ROOT / "seeds" / f"{d}.txt", dest / "seeds")
        shutil.copy(ROOT / "data" / "pairs" / f"{d}.jsonl", dest / "data" / "pairs")
    return dest


def write_config(path: Path, corpus: Path, **overrides) -> Path:
    cfg = {
        "name": "fixture", "seed": 7,
        "data": {"path": str(corpus / "data" / "pairs"), "seeds_dir": str(corpus / "seeds"),
                 "split": {"train": 0.5, "dev": 0.2, "test": 0.3}},
        "evaluation": {"cv_folds": 2, "bootstrap": 50},
        "tracking": {"experiment": "fixture", "registered_model": "stance-classifier"},
    }
    for key, value in overrides.items():  # "model.type" -> cfg["model"]["type"]
        node = cfg
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture
def corpus_dir(tmp_path):
    return make_corpus(tmp_path / "corpus")


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """One model trained through the CLI on the fixture corpus, into its own MLflow store, for
    every test that needs a trained model (training it once keeps `make test` short)."""
    from training.cli import main
    tmp = tmp_path_factory.mktemp("e2e")
    corpus = make_corpus(tmp / "corpus")
    cfg = write_config(tmp / "fixture.yaml", corpus)
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    mp.chdir(tmp)
    try:
        assert main(["train", "--config", str(cfg)]) == 0
    finally:
        mp.undo()  # a session fixture must not leave the working directory or environment changed
    return {"tmp": tmp, "cfg": cfg, "corpus": corpus, "uri": f"sqlite:///{tmp / 'mlflow.db'}",
            "model": tmp / "models" / "fixture"}


def stop_training_at(stage: str, model: Path, config: Path, tmp_path: Path):
    """Copy `model` to tmp_path/models/fixture, run `training train --config config` there with
    SIGTERM sent at `stage` (pipeline.checkpoint), and return (process, runs of its store, models
    folder, the copied model's bytes before) for the interrupt tests to check."""
    import subprocess

    from mlflow.tracking import MlflowClient
    models = tmp_path / "models"
    shutil.copytree(model, models / "fixture")
    before = (models / "fixture" / "model.joblib").read_bytes()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = subprocess.run([sys.executable, "-m", "training", "train", "--config", str(config), "--models-dir",
                           str(models)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MLFLOW_TRACKING_URI": uri, "STANCE_INTERRUPT_AT": stage})
    client = MlflowClient(uri)
    runs = [r for e in client.search_experiments() for r in client.search_runs(e.experiment_id)]
    return proc, runs, models, before
