"""End to end through the CLI: train on the fixture corpus into a temporary MLflow store,
read the run back, predict in a fresh process, bad input, reproducibility."""

import json
import os
import subprocess
import sys

import pytest

from conftest import FIXTURE_DOCS, ROOT, make_corpus, stop_training_at, write_config
from training.cli import main


def test_run_is_logged_completely(trained):
    import mlflow
    from mlflow import MlflowClient
    client = MlflowClient(trained["uri"])
    exp = client.get_experiment_by_name("fixture")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    p, m, t = run.data.params, run.data.metrics, run.data.tags
    assert p["model.type"] == "linear_svm" and p["data.labels"] == "assert,deny,warn" and p["seed"] == "7"
    for k in ("test_macro_f1", "test_accuracy", "test_f1_deny", "dev_macro_f1", "cv_macro_f1_mean",
              "cv_macro_f1_std", "test_macro_f1_ci_low", "test_macro_f1_ci_high", "baseline_majority_test_macro_f1",
              "baseline_cue_rule_test_macro_f1", "test_hard_macro_f1"):
        assert k in m, k
    assert m["test_macro_f1_ci_low"] <= m["test_macro_f1"] <= m["test_macro_f1_ci_high"]
    meta = json.loads((trained["model"] / "metadata.json").read_text())
    assert t["corpus_hash"] == meta["corpus_hash"] and t["git_commit"] and t["git_dirty"] in ("true", "false")
    assert t["config_path"] == str(trained["cfg"])
    arts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"test_confusion_matrix.csv", "test_confusion_matrix.png", "test_per_class.csv", "test_per_class.png",
            "test_misclassified.jsonl", "metrics.json"} <= arts
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {"fixture-train", "fixture-dev", "fixture-test"}
    (version,) = client.search_model_versions("name='stance-classifier'")
    assert version.run_id == run.info.run_id
    # pyfunc answers with predict_proba, columns in label order
    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.pyfunc.load_model(f"models:/stance-classifier/{version.version}")
    import pandas as pd
    out = model.predict(pd.DataFrame({"claim": ["c", "c"], "sentence": ["Officials denied it.", "Stay indoors."]}))
    assert out.shape == (2, 3)
    assert model.metadata.signature is not None


def test_metadata_is_complete(trained):
    meta = json.loads((trained["model"] / "metadata.json").read_text())
    assert meta["labels"] == ["assert", "deny", "warn"]
    assert meta["config"]["model"]["type"] == "linear_svm" and meta["config"]["seed"] == 7
    assert meta["metrics"]["test_macro_f1"] > 0.4
    assert not any(k.endswith("_seconds") for k in meta["metrics"])
    assert meta["fit_seconds"] > 0 and meta["versions"]["scikit-learn"]
    assert len(meta["model_sha256"]) == 64 and len(meta["corpus_hash"]) == 64


def test_fresh_process_loads_and_predicts(trained):
    out = subprocess.run(
        [sys.executable, "-m", "training", "predict", "--model", str(trained["model"]),
         "--claim", "Putin and Trump spoke by phone last week", "--sentence", "Peskov said there was no such call."],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] in ("assert", "deny", "warn")
    assert [w for w in out[1].split() if not w[0].isdigit()] == ["assert", "deny", "warn"]


def test_batch_and_document_predict(trained, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "x", "claim": "The dam cracked", "sentence": "Engineers confirmed the crack."}) + "\n")
    dst = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(trained["model"]), "--input", str(src), "--output", str(dst)]) == 0
    row = json.loads(dst.read_text())
    assert row["id"] == "x" and row["predicted"] in row["proba"]
    doc = tmp_path / "doc.txt"
    doc.write_text("Engineers confirmed the crack. Officials denied it.\nResidents were told to leave.")
    assert main(["predict", "--model", str(trained["model"]), "--document", str(doc), "--claim", "The dam cracked"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 6 and out[0] == "claim: The dam cracked"  # claim, summary, header + 3 sentences


def test_same_config_same_metrics_and_predictions(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    assert main(["train", "--config", str(trained["cfg"]), "--models-dir", str(tmp_path)]) == 0
    a = json.loads((trained["model"] / "metadata.json").read_text())
    b = json.loads((tmp_path / "fixture" / "metadata.json").read_text())
    assert a["metrics"] == b["metrics"]
    for name in ("test_misclassified.jsonl", "dev_misclassified.jsonl", "test_confusion_matrix.csv"):
        assert (trained["model"] / "reports" / name).read_text() == (tmp_path / "fixture" / "reports" / name).read_text()


def _one_line_error(capsys, code, pattern):
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith("error: ") and pattern in err[-1], err[-1]


@pytest.mark.parametrize("line, pattern", [
    ("{oops", ":1: malformed JSON"),
    ('{"id": "z", "doc_id": "101x"}', ":1: field 'claim_id': missing"),
])
def test_bad_data_fails_in_one_line_without_touching_the_model(trained, tmp_path, capsys, monkeypatch, line, pattern):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    corpus = make_corpus(tmp_path / "c", [d for d in FIXTURE_DOCS[:6]])
    bad = sorted((corpus / "data" / "pairs").glob("*.jsonl"))[0]
    bad.write_text(line + "\n" + bad.read_text())
    cfg = write_config(tmp_path / "c.yaml", corpus)
    models = tmp_path / "models"
    _one_line_error(capsys, main(["train", "--config", str(cfg), "--models-dir", str(models)]), pattern)
    assert not models.exists() or not any(models.iterdir())


def test_failed_run_is_marked_failed_and_keeps_the_old_model(trained, tmp_path, capsys, monkeypatch):
    """A failure after the run started (bad model parameter) -> run FAILED, model untouched."""
    from mlflow import MlflowClient
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    before = (trained["model"] / "model.joblib").read_bytes()
    cfg = write_config(tmp_path / "bad.yaml", trained["corpus"], **{"model.params": {"C": -3}})
    _one_line_error(capsys, main(["train", "--config", str(cfg), "--models-dir", str(trained["model"].parent)]),
                    "model.params")
    assert (trained["model"] / "model.joblib").read_bytes() == before
    assert not [p for p in trained["model"].parent.iterdir() if p.name.startswith(".") and p.suffix != ".lock"]
    client = MlflowClient(trained["uri"])
    runs = client.search_runs([client.get_experiment_by_name("fixture").experiment_id], order_by=["start_time DESC"])
    assert runs[0].info.status == "FAILED"


@pytest.mark.parametrize("content, pattern", [
    (None, "config file not found"),
    ("name: x\nmodle: {}\n", ":2: modle: unknown key 'modle'"),
    ("seed: many\n", ":1: seed: expected an integer"),
    ("evaluation:\n  cv_folds: 99\n", ":2: evaluation.cv_folds: 99 is above the maximum 20"),
])
def test_bad_config_is_one_line(tmp_path, capsys, content, pattern):
    path = tmp_path / "c.yaml"
    if content is not None:
        path.write_text(content)
    _one_line_error(capsys, main(["train", "--config", str(path), "--models-dir", str(tmp_path / "m")]), pattern)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("args, pattern", [
    (["--claim", "c"], "give exactly one of"),
    (["--sentence", "s"], "--claim is required"),
    (["--model", "/nonexistent", "--claim", "c", "--sentence", "s"], "model directory not found"),
])
def test_bad_predict_usage_is_one_line(trained, capsys, args, pattern):
    argv = ["predict"] + (args if "--model" in args else ["--model", str(trained["model"])] + args)
    _one_line_error(capsys, main(argv), pattern)


def test_sweep_prints_a_sorted_table(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    a = write_config(tmp_path / "a.yaml", trained["corpus"], **{"evaluation.cv_folds": 0, "evaluation.bootstrap": 0,
                                                                "tracking.log_model": False})
    b = write_config(tmp_path / "b.yaml", trained["corpus"], **{"model.type": "complement_nb", "evaluation.cv_folds": 0,
                                                                "evaluation.bootstrap": 0, "tracking.log_model": False})
    assert main(["sweep", str(a), str(b), "--experiment", "sweep-test"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    table = [line for line in lines if line.startswith(str(tmp_path))]
    scores = [float(line.split()[2]) for line in table]
    assert len(table) == 2 and scores == sorted(scores, reverse=True)


def test_data_reports_the_second_pass_named_in_the_config(tmp_path, capsys):
    import json
    corpus = make_corpus(tmp_path / "c", FIXTURE_DOCS[:3])
    rows = [json.loads(line) for f in sorted((corpus / "data" / "pairs").glob("*.jsonl")) for line in f.open()]
    passes = tmp_path / "second.jsonl"
    passes.write_text("".join(json.dumps({"id": r["id"], "first": r["stance"], "second": r["stance"], "sure": True}) + "\n"
                              for r in rows[1:]))
    cfg = write_config(tmp_path / "c.yaml", corpus, **{"data.second_pass": str(passes)})
    assert main(["data", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"{len(rows) - 1}/{len(rows) - 1} agree = 100.00%" in out and "1 pairs not yet labelled twice" in out
    # a record whose majority contradicts the corpus label is a one-line error naming file:line and field
    r = rows[1]
    other = next(lab for lab in ("assert", "deny", "warn") if lab != r["stance"])
    passes.write_text(json.dumps({"id": r["id"], "first": other, "second": other, "sure": True}) + "\n")
    _one_line_error(capsys, main(["data", "--config", str(cfg)]), "second.jsonl:1: field 'stance'")


def test_sigterm_ends_the_run_killed_and_keeps_the_previous_model(trained, tmp_path):
    """A scheduler's SIGTERM mid-training: exit 143 with one line, the MLflow run KILLED (not
    RUNNING), no staging directory, the previous model untouched."""
    import shutil
    import signal

    from mlflow.tracking import MlflowClient

    models = tmp_path / "models"
    shutil.copytree(trained["model"], models / "fixture")
    before = (models / "fixture" / "model.joblib").read_bytes()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    proc = subprocess.Popen([sys.executable, "-m", "training", "train", "--config", str(trained["cfg"]),
                             "--models-dir", str(models)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # wait until the run is under way, then stop it as a scheduler would
        lines.append(line)
        if "features:" in line:
            proc.send_signal(signal.SIGTERM)
            break
    lines += proc.stderr.readlines()
    assert proc.wait(timeout=120) == 143, lines
    assert lines[-1] == "terminated (SIGTERM): no model was written or replaced\n" and "Traceback" not in "".join(lines)
    assert sorted(p.name for p in models.iterdir() if p.suffix != ".lock") == ["fixture"]  # no .fixture.tmp-* left
    assert (models / "fixture" / "model.joblib").read_bytes() == before
    runs = MlflowClient(uri).search_runs(MlflowClient(uri).search_experiments()[0].experiment_id)
    assert [r.info.status for r in runs] == ["KILLED"]


def test_a_swap_cut_between_its_renames_is_undone(trained, tmp_path):
    """Killed after the old model was moved aside and before the new one moved in: the next
    load (or run) puts the old one back."""
    import shutil

    from training.predict import load_predictor
    shutil.copytree(trained["model"], tmp_path / ".fixture.old-4242")
    p = load_predictor(tmp_path / "fixture")
    assert p.labels and (tmp_path / "fixture").is_dir() and not (tmp_path / ".fixture.old-4242").exists()


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["load", "features", "fit", "evaluate", "log_model", "publish"])
def test_a_training_stopped_at_any_stage_leaves_no_running_run_and_the_model(trained, tmp_path, stage):
    """SIGTERM at each stage of `training train` (pipeline.checkpoint): exit 143, no run left
    RUNNING, no staging directory, the previous model byte for byte."""
    from training.pipeline import STAGES
    from training.predict import load_predictor
    assert stage in STAGES
    proc, runs, models, before = stop_training_at(stage, trained["model"], trained["cfg"], tmp_path)
    assert proc.returncode == 143, proc.stderr[-800:]
    assert proc.stderr.endswith("terminated (SIGTERM): no model was written or replaced\n")
    assert not [r for r in runs if r.info.status == "RUNNING"]
    assert sorted(p.name for p in models.iterdir() if p.suffix != ".lock") == ["fixture"]
    assert (models / "fixture" / "model.joblib").read_bytes() == before and load_predictor(models / "fixture").labels
