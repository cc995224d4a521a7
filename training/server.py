"""`make server`: an MLflow tracking server on PostgreSQL, in the foreground.

Without $MLFLOW_BACKEND_URI it runs its own PostgreSQL (Debian's `postgresql` package) from
`.pg/` in the project: initialised on first use, listening on a Unix socket in `.pg/run` only,
run as the `postgres` user when started as root (PostgreSQL refuses root). Ctrl-C or SIGTERM
stops the MLflow server and then the PostgreSQL it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from training.errors import StanceError

PG_PORT = 5433  # only names the socket file (.s.PGSQL.5433): nothing listens on TCP


def _pg_bin(name: str) -> str:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        raise StanceError(f"{name}: PostgreSQL is not installed; install it with `apt-get install -y postgresql` "
                          f"or point the server at one with MLFLOW_BACKEND_URI=postgresql://...")
    return found


def _as_pg_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as `postgres` then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise StanceError(f"{what} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")


def _check_reachable(pg: Path) -> None:
    """As root, `postgres` must be able to walk down to pg: a clone under /root (0700) is not."""
    if os.geteuid() != 0:
        return
    if subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(pg)]).returncode != 0:
        raise StanceError(f"{pg}: the postgres user cannot reach this folder (a parent is private to root); "
                          f"put the data elsewhere with PG_DIR=/var/tmp/stance-pg (make server) or --pg-dir")


def start_postgres(pg: Path, log) -> tuple[str, callable]:
    """Start (initialising if needed) PostgreSQL in pg (.pg/ by default); returns (backend URI, stop)."""
    data, run = pg / "data", pg / "run"
    run.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(pg, "postgres", "postgres")
        shutil.chown(run, "postgres", "postgres")
        _check_reachable(pg)
    if not (data / "PG_VERSION").exists():
        log(f"initialising PostgreSQL in {data}")
        _run(_as_pg_user([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "mlflow", "--no-sync"]), "initdb")
    options = f"-k {run} -c listen_addresses='' -p {PG_PORT}"
    _run(_as_pg_user([_pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(pg / "postgres.log"), "-w",
                      "start"]), "pg_ctl start")

    def stop():
        subprocess.run(_as_pg_user([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
    created = subprocess.run(_as_pg_user([_pg_bin("createdb"), "-h", str(run), "-p", str(PG_PORT), "-U", "mlflow",
                                          "mlflow"]), capture_output=True, text=True)
    if created.returncode != 0 and "already exists" not in created.stderr:
        stop()
        raise StanceError(f"createdb failed: {created.stderr.strip()}")
    return f"postgresql+psycopg2://mlflow@/mlflow?host={run}&port={PG_PORT}", stop


def wait_healthy(url: str, proc, seconds: float = 60) -> float:
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        if proc.poll() is not None:
            raise StanceError(f"the MLflow server exited with code {proc.returncode}; see the lines above")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t
        except OSError:
            time.sleep(0.3)
    raise StanceError(f"the MLflow server at {url} did not answer /health within {seconds:.0f} s")


def serve(pg: Path, port: int, artifacts: Path, log) -> int:
    """Run PostgreSQL (unless $MLFLOW_BACKEND_URI) and the MLflow server until SIGINT/SIGTERM."""
    t0 = time.perf_counter()
    backend, stop_pg = os.environ.get("MLFLOW_BACKEND_URI"), (lambda: None)
    if not backend:
        backend, stop_pg = start_postgres(pg, log)
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    artifacts.mkdir(parents=True, exist_ok=True)
    cmd = [str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri", backend,
           "--artifacts-destination", str(artifacts), "--serve-artifacts", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(cmd, start_new_session=True)  # our signal, not the terminal's, stops it
    try:
        url = f"http://127.0.0.1:{port}"
        took = wait_healthy(url, proc)
        log(f"MLflow server on {url} (backend {backend.split('?')[0]}, artifacts {artifacts}); healthy "
            f"{time.perf_counter() - t0:.1f} s after start ({took:.1f} s for the server). Ctrl-C stops it.")
        while not stopping and proc.poll() is None:
            time.sleep(0.2)
        return 0 if stopping else proc.returncode
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        stop_pg()
        for s, h in old.items():
            signal.signal(s, h)
        log("stopped the MLflow server" + ("" if os.environ.get("MLFLOW_BACKEND_URI") else " and PostgreSQL"))
