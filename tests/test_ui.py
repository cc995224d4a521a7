"""`make ui` serves the same store: start the server on a free loopback port, find a run
through the REST API, fetch the UI page, stop it by PID."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path



def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_server_shows_the_run(tmp_path, mlflow_store):
    from training.server import wait_healthy
    from training.config import from_dict
    from training.tracking import run
    import mlflow
    with run(from_dict({"tracking": {"experiment": "ui-test"}})) as active:
        mlflow.log_metric("test_macro_f1", 0.5)
        run_id = active.info.run_id
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen([str(mlflow_bin), "server", "--backend-store-uri", mlflow_store, "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        req = urllib.request.Request(f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=ui-test")
        exp_id = json.load(urllib.request.urlopen(req, timeout=10))["experiment"]["experiment_id"]
        body = json.dumps({"experiment_ids": [exp_id]}).encode()
        req = urllib.request.Request(f"{base}/api/2.0/mlflow/runs/search", data=body,
                                     headers={"Content-Type": "application/json"})
        runs = json.load(urllib.request.urlopen(req, timeout=10))["runs"]
        assert [r["info"]["run_id"] for r in runs] == [run_id]
        page = urllib.request.urlopen(f"{base}/", timeout=10).read().decode()
        assert "<html" in page.lower() and "mlflow" in page.lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # stop it by its PID (and its gunicorn/uvicorn children)
        proc.wait(timeout=30)
    assert proc.returncode is not None
