"""The Spark engine of `score`: a SparkSession reads Parquet, applies the logged MLflow model with
`mlflow.pyfunc.spark_udf` and writes Parquet.

The logged model returns probabilities (columns in its classes' order, recorded in the model's
metadata with the decision rule); the label is taken from them by the same rule as the local
engine's `predict`, so both engines give the same label on every row. pyspark is an optional
extra (requirements-spark.lock) and needs Java 17.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from training.errors import StanceError
from training.predict import decide
from training.score import INPUT_COLUMNS, file_format, output_columns


def model_uri(model: str) -> str:
    """A models:/ or runs:/ URI as given; for an exported directory, the run that logged it."""
    if re.match(r"^[a-z]+:/", model):
        return model
    meta = Path(model) / "metadata.json"
    if not meta.is_file():
        raise StanceError(f"{model}: not a model directory (no metadata.json) nor a models:/ or runs:/ URI")
    run_id = json.loads(meta.read_text(encoding="utf-8")).get("mlflow_run_id")
    if not run_id:
        raise StanceError(f"{meta}: no mlflow_run_id; pass the logged model as --model models:/<name>@champion")
    return f"runs:/{run_id}/model"


def check_java() -> None:
    java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not Path(java).exists():
        raise StanceError("java: not found; the Spark engine needs Java 17: apt-get install -y openjdk-17-jre-headless")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)', out)
    if m and int(m.group(1)) < 17:
        raise StanceError(f"java: version {m.group(1)} found, pyspark 4 needs 17 or newer: "
                          f"apt-get install -y openjdk-17-jre-headless and set JAVA_HOME")


def session(master: str | None):
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise StanceError("pyspark is not installed: `make score ENGINE=spark` installs it, or "
                          "`.venv/bin/pip install -r requirements-spark.lock`") from None
    check_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this venv's packages
    from pyspark import cloudpickle
    for module in (__name__, "training.predict"):  # workers cannot import this package: ship `decide`
        cloudpickle.register_pickle_by_value(sys.modules[module])
    master = master or os.environ.get("SPARK_MASTER") or "local[*]"
    spark = (SparkSession.builder.master(master).appName("stance-score").config("spark.ui.enabled", "false")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    import warnings
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")  # pandas 3: works, tested
    return spark


def score_spark(model: str, src: Path, dst: Path, master: str | None = None, log=print) -> dict:
    """Label Parquet `src` into the Parquet folder `dst` on Spark; returns rows and seconds."""
    for path, role in ((src, "input"), (dst, "output")):
        if file_format(path, role) != "parquet":
            raise StanceError(f"{path}: the Spark engine reads and writes Parquet (name it .parquet)")
    if not src.exists():
        raise StanceError(f"{src}: input not found")
    from training.tracking import _mlflow, tracking_uri
    mlflow = _mlflow()
    mlflow.set_tracking_uri(tracking_uri())  # the store of $MLFLOW_TRACKING_URI now, not a cached one
    uri = model_uri(model)
    info = mlflow.models.get_model_info(uri)
    meta = info.metadata or {}
    if "proba_columns" not in meta or "labels" not in meta:
        raise StanceError(f"{uri}: logged without labels/proba_columns metadata; retrain with `make train`")
    labels, classes, rule = meta["labels"], meta["proba_columns"], meta.get("decision", {"kind": "argmax"})
    t = time.perf_counter()
    spark = session(master)
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, DoubleType, StringType
    df = spark.read.parquet(str(src))
    if df.rdd.getNumPartitions() < spark.sparkContext.defaultParallelism:  # one file would use one core
        df = df.repartition(spark.sparkContext.defaultParallelism)
    for col in INPUT_COLUMNS:
        if col not in df.columns:
            raise StanceError(f"{src}: no {col!r} column (columns: {', '.join(df.columns)})")
    added = output_columns(labels, relevance=False)
    for col in added:
        if col in df.columns:
            raise StanceError(f"{src}: the input already has a {col!r} column, which the output adds; rename it")
    log(f"Spark {spark.version} on {spark.sparkContext.master}: applying {uri} with mlflow.pyfunc.spark_udf")
    proba = mlflow.pyfunc.spark_udf(spark, uri, result_type=ArrayType(DoubleType()), env_manager="local")

    @F.pandas_udf(StringType())
    def label(p):
        return __import__("pandas").Series(decide(rule, classes, np.stack(p.to_numpy())) if len(p) else [])

    out = df.withColumn("_proba", proba("claim", "sentence")).withColumn("stance", label("_proba"))
    out = out.select(*df.columns, "stance", *(F.col("_proba")[classes.index(lab)].alias(f"p_{lab}") if lab in classes
                                              else F.lit(0.0).alias(f"p_{lab}") for lab in labels))
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        out.write.mode("overwrite").parquet(str(tmp))
        _swap_in(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = spark.read.parquet(str(dst)).count()
    spark.stop()
    seconds = time.perf_counter() - t
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / max(seconds, 1e-9)}


def _swap_in(tmp: Path, dst: Path) -> None:
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    if dst.exists():
        os.rename(dst, old)
    os.rename(tmp, dst)
    if old.is_dir():
        shutil.rmtree(old)
    elif old.exists():
        old.unlink()
