"""`make bench-scale`: batch scoring of 200,000 and 2,000,000 distinct pairs from Parquet (the whole
`score` command, local and Spark), single-pair serving latency, and the streaming model's memory
on FNC-1 x1 and x8.

Peak memory is the process tree's, sampled every 0.5 s: the sum of each process's PSS (its private
pages plus its share of pages shared with the others: forked workers share the loaded model, which
a sum of RSS would count once per process), and the largest single RSS beside it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from training.errors import StanceError


def _tree_memory_mb(pid: int) -> tuple[float, float]:
    """(summed PSS, largest RSS) of pid and its descendants, from /proc (no psutil in the lock)."""
    children = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(d.name))
            except (OSError, IndexError):
                continue
    pss, rss, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()[1:])
            pss += int(fields["Pss"].split()[0])
            rss = max(rss, int(fields["Rss"].split()[0]))
        except (OSError, KeyError, ValueError):
            pass
        todo += children.get(p, [])
    return pss / 1024, rss / 1024


def run_measured(cmd: list[str], env=None) -> tuple[float, tuple[float, float], str]:
    """(wall seconds, (peak tree PSS, peak single RSS) in MB, stderr) of a command; a failure is a
    StanceError."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        peak = (0.0, 0.0)
        while proc.poll() is None:
            peak = tuple(map(max, peak, _tree_memory_mb(proc.pid)))
            time.sleep(0.5)  # reading smaps_rollup costs CPU the measured command would miss
        wall = time.perf_counter() - t
        err.seek(0)
        text = err.read()
    if proc.returncode != 0:
        raise StanceError(f"bench-scale: {' '.join(cmd)} failed: {text.strip().splitlines()[-1:]}")
    return wall, peak, text


def write_pairs(path: Path, n: int, chunk: int = 200_000) -> Path:
    """n distinct (claim, sentence) pairs from the corpus's texts, with an id, to Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from training.config import load_config
    from training.datasets import load_corpus
    corpus = load_corpus(load_config("configs/default.yaml"))
    rows = [r for s in ("train", "dev", "test") for r in corpus.rows(s)]
    sents, claims = sorted({r["sentence"] for r in rows}), sorted({r["claim"] for r in rows})
    if n > len(sents) * len(claims):
        raise StanceError(f"bench-scale: at most {len(sents) * len(claims):,} distinct pairs, asked for {n:,}")
    writer = None
    for start in range(0, n, chunk):
        ks = range(start, min(n, start + chunk))  # pass j over the sentences shifts every claim by j
        table = pa.table({"id": list(ks), "claim": [claims[((k % len(sents)) * 7 + k // len(sents)) % len(claims)]
                                                     for k in ks], "sentence": [sents[k % len(sents)] for k in ks]})
        writer = writer or pq.ParquetWriter(str(path), table.schema)
        writer.write_table(table)
    writer.close()
    return path


PARTS = ("local", "spark", "serve", "streaming")


def measure(model: str, pairs: int, big_pairs: int, parts: list[str], log) -> list[tuple]:
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise StanceError(f"bench-scale --parts: unknown {', '.join(sorted(unknown))}; valid: {', '.join(PARTS)}")
    rows = []
    py = [sys.executable, "-m", "training"]
    env = {**os.environ, "STANCE_NO_PROGRESS": "1"}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        tmp = Path(tmp)
        for n in (pairs, big_pairs):
            if not n or "local" not in parts:
                continue
            src = write_pairs(tmp / f"pairs-{n}.parquet", n)
            log(f"scoring {n:,} pairs (local engine)")
            wall, peak, _ = run_measured([*py, "score", "--model", model, "--input", str(src), "--output",
                                          str(tmp / f"local-{n}.parquet"), "--workers", "2"], env)
            rows.append((f"score local, {n:,} pairs, whole command", f"{n / wall:,.0f} pairs/s", ">= 10,000",
                         n / wall >= 10_000))
            rows.append(("  wall; peak memory: tree PSS (largest RSS)", f"{wall:.0f} s; {peak[0]:.0f} ({peak[1]:.0f}) MB",
                         "<= 1,024 MB", peak[0] <= 1024))
            if n == pairs and "spark" in parts:
                rows += _spark_rows(py, model, src, tmp, n, wall, env, log)
        rows += _serve_rows(py, model, log) if "serve" in parts else []
        rows += _streaming_rows(tmp, log) if "streaming" in parts else []
    return rows


def _spark_rows(py, model, src, tmp, n, local_wall, env, log) -> list[tuple]:
    import pandas as pd
    log(f"scoring {n:,} pairs (Spark local[2])")
    wall, peak, _ = run_measured([*py, "score", "--engine", "spark", "--master", "local[2]", "--model", model,
                                  "--input", str(src), "--output", str(tmp / "spark.parquet")], env)
    local = pd.read_parquet(tmp / f"local-{n}.parquet", columns=["id", "stance"]).set_index("id").sort_index()
    spark = pd.read_parquet(tmp / "spark.parquet", columns=["id", "stance"]).set_index("id").sort_index()
    same = len(local) == len(spark) and (local["stance"].to_numpy() == spark["stance"].to_numpy()).all()
    return [(f"score spark local[2], {n:,} pairs", f"{wall:.1f} s ({n / wall:,.0f}/s)",
             f"local {local_wall:.1f} s", None),
            ("  labels identical to the local engine's", "yes" if same else "NO", "every row", bool(same)),
            ("  peak memory: tree PSS with the JVM (largest RSS)", f"{peak[0]:.0f} ({peak[1]:.0f}) MB", "", None)]


def _serve_rows(py, model, log, requests: int = 300) -> list[tuple]:
    import json
    import socket
    import urllib.request

    from training.server import wait_healthy
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*py, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, 120)
        log(f"serving: {requests} single-pair requests")
        times = []
        for k in range(requests + 10):
            body = json.dumps({"dataframe_split": {"columns": ["claim", "sentence"], "data": [
                [f"The council will close the library {k}", f"Officials denied the library would close on day {k}."]]}})
            req = urllib.request.Request(f"{url}/invocations", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
            t = time.perf_counter()
            urllib.request.urlopen(req, timeout=30).read()
            times.append(time.perf_counter() - t)
        times = sorted(times[10:])  # the first requests warm the model up
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    p50, p99 = statistics.median(times) * 1000, times[int(0.99 * (len(times) - 1))] * 1000
    return [("serve: single-pair /invocations, p50", f"{p50:.1f} ms", "<= 50 ms", p50 <= 50),
            ("  p99", f"{p99:.1f} ms", "", None)]


def _streaming_rows(tmp: Path, log) -> list[tuple]:
    try:
        from training.streaming_data import memory_check
    except ImportError:
        return [("streaming sgd memory x1 vs x8", "not available", "", None)]
    fnc1 = Path(os.environ.get("FNC1_DIR", "../shared/data/fnc1"))
    if not (fnc1 / "train_stances.csv").is_file():
        return [("streaming sgd memory x1 vs x8", f"skipped: no FNC-1 at {fnc1}", "", None)]
    r = memory_check(fnc1, copies=8, workdir=tmp / "streaming", log=log)
    ratio = r["x8_peak_mb"] / r["x1_peak_mb"]
    return [("streaming sgd on FNC-1 x1: peak RSS, wall", f"{r['x1_peak_mb']:.0f} MB, {r['x1_seconds']:.0f} s", "", None),
            ("streaming sgd on FNC-1 x8: peak RSS, wall", f"{r['x8_peak_mb']:.0f} MB, {r['x8_seconds']:.0f} s", "", None),
            ("  ratio x8 / x1", f"{ratio:.2f}", "<= 1.15", abs(ratio - 1) <= 0.15)]
