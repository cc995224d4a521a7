import json


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
    assert not any(p.name.startswith(".m.") for p in tmp_path.iterdir())


def test_a_discarded_stage_leaves_the_old_model(tmp_path):
    target, stage = _good_model_and_stage(tmp_path, "half")
    discard(stage)
    assert (target / "model.joblib").read_text() == "good" and not stage.exists()


def test_versions_name_the_libraries():
    v = library_versions()
    assert {"python", "scikit-learn", "numpy", "joblib", "mlflow", "datasets"} <= set(v)
