"""`make serve`: the champion alias, and `mlflow models serve` answering /invocations with one row of
probabilities per pair in label order (started on a free port, stopped by PID)."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from conftest import ROOT
from training.predict import load_predictor
from training.server import wait_healthy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_first_version_is_champion_and_a_worse_one_is_challenger(trained, monkeypatch):
    from mlflow import MlflowClient

    from training.tracking import choose_alias
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    client = MlflowClient(trained["uri"])
    champ = client.get_model_version_by_alias("stance-classifier", "champion")
    run = client.get_run(champ.run_id)
    assert run.data.tags["registry.alias"] == "champion"
    reason = run.data.tags["registry.alias_reason"]  # other tests may have registered more versions
    assert reason == "there was no champion" or ">= champion version" in reason
    # a later run that scores lower becomes the challenger, and the champion stays
    exp = client.get_experiment(run.info.experiment_id)
    worse = client.create_run(exp.experiment_id, run_name="fixture-0000000-20260101T000000Z")
    client.log_metric(worse.info.run_id, "test_macro_f1", run.data.metrics["test_macro_f1"] - 0.1)
    mv = client.create_model_version("stance-classifier", f"runs:/{worse.info.run_id}/model", worse.info.run_id)
    alias, why = choose_alias("stance-classifier", mv.version, worse.info.run_id)
    assert alias == "challenger" and f"< champion version {champ.version}'s" in why
    assert client.get_model_version_by_alias("stance-classifier", "champion").version == champ.version
    client.delete_model_version("stance-classifier", mv.version)
    client.delete_run(worse.info.run_id)  # other tests read this experiment's runs


def test_serve_answers_invocations_in_label_order(trained):
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained["uri"]}
    proc = subprocess.Popen([sys.executable, "-m", "training", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    claims = ["The council will close the library", "The minister resigned"]
    sentences = ["The council denied it would close the library.", "Officials warned the minister may resign."]
    try:
        wait_healthy(url, proc, 90)
        body = json.dumps({"dataframe_split": {"columns": ["claim", "sentence"],
                                               "data": [list(p) for p in zip(claims, sentences)]}}).encode()
        req = urllib.request.Request(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"})
        answer = json.loads(urllib.request.urlopen(req, timeout=30).read())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    rows = np.array(answer["predictions"])
    p = load_predictor(trained["model"])
    assert rows.shape == (2, len(p.labels))
    assert np.allclose(rows, p.predict_proba(claims, sentences), atol=1e-9)


def test_serve_names_an_unknown_model_in_one_line(trained):
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained["uri"]}
    proc = subprocess.run([sys.executable, "-m", "training", "serve", "--model-uri", "models:/nope@champion"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: models:/nope@champion: cannot load it from") and proc.stderr.count("\n") == 1
