"""`make server`: MLflow on a PostgreSQL it starts itself (Debian's postgresql; .ci/run installs it)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, make_corpus, write_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _has_postgres() -> bool:
    return bool(list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb"))


@pytest.fixture
def pg_dir():
    """A folder the postgres user can reach wherever the clone is (pytest's tmp dirs are 0700)."""
    if not _has_postgres():
        if os.environ.get("STANCE_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is not installed, and STANCE_REQUIRE_POSTGRES is set (.ci/run installs it)")
        pytest.skip("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does)")
    d = Path(tempfile.mkdtemp(prefix="stance-pg-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_server_on_postgres_takes_two_trainings_at_once_and_stops_cleanly(tmp_path, pg_dir):
    from mlflow.tracking import MlflowClient
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "training", "server", "--port", str(port), "--pg-dir", str(pg_dir),
                               "--artifacts", str(tmp_path / "artifacts")], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    while time.perf_counter() - t < 60:
        try:
            if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                break
        except OSError:
            assert server.poll() is None, server.stderr.read()[-800:]
            time.sleep(0.3)
    healthy = time.perf_counter() - t
    try:
        assert healthy <= 15, f"healthy after {healthy:.1f} s"
        corpus = make_corpus(tmp_path / "corpus", docs=["101_valdoria_voter_register", "102_maranta_fuel_subsidy",
                                                         "103_brenholm_port_vote", "104_castelbrook_hollis_rally"])
        cfg = write_config(tmp_path / "c.yaml", corpus, **{"evaluation.cv_folds": 0, "evaluation.bootstrap": 0,
                                                           "relevance.enabled": False,
                                                           "tracking.experiment": f"server-{port}"})
        cmd = [sys.executable, "-m", "training", "train", "--config", str(cfg), "--models-dir", str(tmp_path / "m")]
        env = {**os.environ, "MLFLOW_TRACKING_URI": url}
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outs]
        client = MlflowClient(url)
        exp = client.get_experiment_by_name(f"server-{port}")
        assert sorted(r.info.status for r in client.search_runs(exp.experiment_id)) == ["FINISHED", "FINISHED"]
        assert list((tmp_path / "artifacts").iterdir())  # artifacts went through the server
        run_ids = {r.info.run_id for r in client.search_runs(exp.experiment_id)}
        versions = [v for v in client.search_model_versions() if v.run_id in run_ids]
        assert len(versions) == 2, "both trainings register a version"
        from training.predict import load_predictor
        assert load_predictor(tmp_path / "m" / "fixture").labels  # whole (one of the two), checksum valid
    finally:
        server.send_signal(signal.SIGTERM)
        err = server.communicate(timeout=60)[1]
    assert server.returncode == 0 and "stopped the MLflow server and PostgreSQL" in err
    pg = subprocess.run(["pgrep", "-f", f"postgres -D {pg_dir / 'data'}"], capture_output=True, text=True)
    assert not pg.stdout.strip(), "PostgreSQL still running"
