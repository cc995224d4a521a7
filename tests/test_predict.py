import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from training.errors import StanceError
from training.predict import load_predictor


@pytest.fixture
def model_dir(trained):
    """The session's trained model (conftest.trained)."""
    return trained["model"]


def test_contract(model_dir):
    p = load_predictor(model_dir)
    assert p.labels == ["assert", "deny", "warn"]
    claims = ["The dam has cracked"] * 2
    sentences = ["Engineers confirmed that the dam has cracked.", "Officials called the report of a crack false."]
    labels = p.predict(claims, sentences)
    proba = p.predict_proba(claims, sentences)
    assert isinstance(labels, list) and all(lab in p.labels for lab in labels)
    assert proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1)
    assert labels == [p.labels[i] for i in proba.argmax(axis=1)]
    assert p.predict([], []) == [] and p.predict_proba([], []).shape == (0, 3)
    both_labels, both_proba = p.predict_with_proba(claims, sentences)  # one featurization, same answers
    assert both_labels == labels and np.allclose(both_proba, proba)


def test_round_trip_matches_training_time_predictions(model_dir):
    meta = json.loads((model_dir / "metadata.json").read_text())
    assert {"labels", "config", "corpus_hash", "metrics", "versions", "git_commit", "model_sha256"} <= set(meta)
    mis = [json.loads(line) for line in (model_dir / "reports" / "test_misclassified.jsonl").read_text().splitlines()]
    p = load_predictor(model_dir)
    assert p.predict([m["claim"] for m in mis], [m["sentence"] for m in mis]) == [m["predicted"] for m in mis]


@pytest.mark.parametrize("claims, sentences, message", [
    (["a", "b"], ["x"], "equal length, got 2 and 1"),
    (["a"], [3], r"sentences\[0\]: expected a string, got int"),
    ("a claim", ["x"], "claims: expected a sequence of strings"),
])
def test_bad_predict_input(model_dir, claims, sentences, message):
    with pytest.raises(StanceError, match=message):
        load_predictor(model_dir).predict(claims, sentences)


def test_missing_directory(tmp_path):
    with pytest.raises(StanceError, match="model directory not found"):
        load_predictor(tmp_path / "nope")


def test_modified_model_file(model_dir, tmp_path):
    import shutil
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    with open(copy / "model.joblib", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(StanceError, match="checksum mismatch"):
        load_predictor(copy)


def test_other_sklearn_version(model_dir, tmp_path):
    import shutil
    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(StanceError, match=r"trained with scikit-learn 0\.24\.2, but .* is installed"):
        load_predictor(copy)


def test_fresh_process_imports_neither_mlflow_nor_datasets(model_dir):
    code = (f"import sys; from training.predict import load_predictor; p = load_predictor({str(model_dir)!r}); "
            "print(p.predict(['c'], ['s'])[0]); "
            "print(sorted(m for m in ('mlflow', 'datasets', 'matplotlib', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    label, loaded = out.strip().splitlines()
    assert label in ("assert", "deny", "warn") and loaded == "[]"


def test_predict_output_into_a_new_directory(model_dir, tmp_path):
    # regression: --output into a missing directory was a traceback
    from training.cli import main
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"claim": "The dam burst", "sentence": "Engineers said the dam held."}) + "\n")
    out = tmp_path / "new" / "deeper" / "out.jsonl"
    assert main(["predict", "--model", str(model_dir), "--input", str(src), "--output", str(out)]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["predicted"] in ("assert", "deny", "warn") and set(row["proba"]) == {"assert", "deny", "warn"}
