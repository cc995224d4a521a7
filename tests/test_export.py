import json
import os

import pytest

from training.export import discard, library_versions, publish, staging_dir, write_model
from training.predict import file_sha256


class Tiny:
    classes_ = ["a", "b"]


def test_write_model_records_checksum(tmp_path):
    stage = staging_dir(tmp_path / "m")
    meta = write_model(stage, Tiny(), {"labels": ["a", "b"], "versions": library_versions()})
    assert meta["model_sha256"] == file_sha256(stage / "model.joblib")
    assert json.loads((stage / "metadata.json").read_text())["model_sha256"] == meta["model_sha256"]


def _good_model_and_stage(tmp_path, staged: str):
    target = tmp_path / "m"
    target.mkdir()
    (target / "model.joblib").write_text("good")
    stage = staging_dir(target)
    (stage / "model.joblib").write_text(staged)
    return target, stage


def test_publish_replaces_only_after_a_complete_write(tmp_path):
    target, stage = _good_model_and_stage(tmp_path, "better")
    publish(stage, target)
    assert (target / "model.joblib").read_text() == "better"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".m.")] == [".m.lock"]  # no staging left


def test_a_discarded_stage_leaves_the_old_model(tmp_path):
    target, stage = _good_model_and_stage(tmp_path, "half")
    discard(stage)
    assert (target / "model.joblib").read_text() == "good" and not stage.exists()


def test_an_interrupt_between_the_renames_puts_the_old_model_back(tmp_path, monkeypatch):
    target, stage = _good_model_and_stage(tmp_path, "better")
    real, calls = os.rename, []

    def rename(a, b):  # the first rename (old model aside) happens; Ctrl-C lands before the second
        calls.append(a)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(a, b)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        publish(stage, target)
    monkeypatch.undo()
    assert (target / "model.joblib").read_text() == "good"
    assert not any(p.name.startswith(".m.old") for p in tmp_path.iterdir())


def test_publish_clears_old_models_an_interrupt_left(tmp_path):
    target, stage = _good_model_and_stage(tmp_path, "better")
    (tmp_path / ".m.old-99").mkdir()
    publish(stage, target)
    assert (target / "model.joblib").read_text() == "better" and not (tmp_path / ".m.old-99").exists()


def test_versions_name_the_libraries():
    v = library_versions()
    assert {"python", "scikit-learn", "numpy", "joblib", "mlflow", "datasets"} <= set(v)
