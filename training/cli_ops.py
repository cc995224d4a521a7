"""Command line, operations: the tracking server, model serving, batch scoring, benchmarks.
Parsing and printing only; the work is in server.py, score.py, score_spark.py and bench*.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

from training.errors import StanceError
from training.names import SCORE_ENGINES


def _log(msg: str) -> None:
    from training.cli import log
    log(msg)


def cmd_server(args) -> int:
    from training.server import serve
    return serve(Path(args.pg_dir).resolve(), args.port, Path(args.artifacts).resolve(), _log)


def cmd_serve(args) -> int:
    """`mlflow models serve` on 127.0.0.1 with this environment, after checking the URI resolves."""
    import sys

    from training.tracking import _mlflow, tracking_uri
    mlflow = _mlflow()
    mlflow.set_tracking_uri(tracking_uri())
    try:
        info = mlflow.models.get_model_info(args.model_uri)
    except Exception as e:  # noqa: BLE001 - any failure to resolve is the user's URI or store
        raise StanceError(f"{args.model_uri}: cannot load it from {tracking_uri()} ({str(e).splitlines()[0][:200]}); "
                          f"train with `make train`, or pass MODEL_URI=models:/<name>/<version>") from None
    labels = (info.metadata or {}).get("proba_columns")
    _log(f"serving {args.model_uri} (run {info.run_id}) on http://127.0.0.1:{args.port}/invocations; "
         f"each row answers probabilities in the order {labels}")
    cmd = [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", args.model_uri, "--env-manager",
           "local", "--host", "127.0.0.1", "--port", str(args.port), "--workers", "1"]
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri()
    venv_bin = str(Path(sys.executable).parent)  # mlflow starts `uvicorn` through bash: find ours
    os.environ["PATH"] = os.pathsep.join([venv_bin, os.environ.get("PATH", "")])
    os.execv(cmd[0], cmd)  # the server takes our PID: SIGTERM/Ctrl-C reach it directly


def cmd_score(args) -> int:
    src, dst = Path(args.input), Path(args.output)
    if args.engine == "spark":
        from training.score_spark import score_spark
        r = score_spark(args.model, src, dst, args.master, _log)
    else:
        if args.master:
            raise StanceError("score: --master only applies with --engine spark")
        from training.predict import load_predictor
        from training.score import score_local
        workers = args.workers or min(2, os.cpu_count() or 1)
        r = score_local(load_predictor(args.model), src, dst, args.chunk_rows, workers, _log)
    _log(f"scored {r['rows']:,} rows into {dst} in {r['seconds']:.1f}s ({r['rows_per_second']:,.0f} rows/s, "
         f"engine {args.engine})")
    return 0


def cmd_bench(args) -> int:
    from training.bench import measure
    _print_rows(measure(args.config, args.model, args.repeats, args.pairs))
    return 0


def cmd_bench_scale(args) -> int:
    from training.bench_scale import measure
    _print_rows(measure(args.model, args.pairs, args.big_pairs, args.parts.split(","), _log))
    return 0


def _print_rows(rows) -> None:
    print(f"\n{'measure':52} {'value':>16} {'target':>12}")
    for name, value, target, ok in rows:
        print(f"{name:52} {value:>16} {target:>12} {'' if ok is None else ('ok' if ok else 'MISSED')}")


def cmd_bench_fnc1(args) -> int:
    import resource
    import shutil

    from training.cli import train
    from training.config import load_config
    cfg = load_config(args.config)
    if args.no_cache:
        shutil.rmtree(".cache/features", ignore_errors=True)
    t = time.perf_counter()
    m = train(cfg, models_dir=args.models_dir)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from training.datasets.fnc1 import bench_table
    print(bench_table(m, cfg.model.type, wall, peak))
    print(f"features: {'cache hit' if m.get('features_cache_hit') else 'computed'}; "
          f"features {m['features_seconds']:.1f}s, fit {m['fit_seconds']:.1f}s, total {wall:.1f}s")
    return 0


MODEL = ("--model", {"default": "models/stance"})
COMMANDS = {
    "server": ("an MLflow tracking server on PostgreSQL (or $MLFLOW_BACKEND_URI), in the foreground", cmd_server, [
        ("--port", {"type": int, "default": 5000}), ("--artifacts", {"default": "mlartifacts"}),
        ("--pg-dir", {"default": ".pg", "help": "PostgreSQL's data and socket folder (default .pg)"})]),
    "serve": ("serve a registered model over HTTP (mlflow models serve, local environment)", cmd_serve, [
        ("--model-uri", {"default": "models:/stance-classifier@champion"}), ("--port", {"type": int, "default": 5001})]),
    "score": ("label a JSONL, CSV or Parquet file of claim/sentence rows, in chunks or on Spark", cmd_score, [
        ("--model", {"default": "models/stance", "help": "a model directory (spark: or a models:/ URI)"}),
        ("--input", {"required": True}), ("--output", {"required": True}),
        ("--engine", {"choices": SCORE_ENGINES, "default": "local"}),
        ("--master", {"help": "spark: the master URL (default $SPARK_MASTER or local[*])"}),
        ("--chunk-rows", {"type": int, "default": 5000, "help": "local: rows per chunk (default 5000)"}),
        ("--workers", {"type": int, "help": "local: processes sharing the model (default: 2, or 1 on one core)"})]),
    "bench": ("time make train, cold-start predict and batch throughput", cmd_bench, [
        ("--config", {"default": "configs/default.yaml"}), MODEL, ("--pairs", {"type": int, "default": 20000}),
        ("--repeats", {"type": int, "default": 11})]),
    "bench-scale": ("batch scoring (local and Spark), serving latency and streaming memory", cmd_bench_scale, [
        MODEL, ("--pairs", {"type": int, "default": 200_000}), ("--big-pairs", {"type": int, "default": 2_000_000}),
        ("--parts", {"default": "local,spark,serve,streaming", "help": "which measures, comma-separated"})]),
    "bench-fnc1": ("train and evaluate on FNC-1; print the table beside the anchors", cmd_bench_fnc1, [
        ("--config", {"default": "configs/fnc1.yaml"}), ("--models-dir", {"default": "models"}),
        ("--no-cache", {"action": "store_true", "help": "drop the feature cache first (cold timing)"})]),
}
