"""Batch scoring (`score`): the local engine in each format, chunked and in parallel, bad input,
and the Spark engine giving the same labels (it needs pyspark and Java; .ci/run installs both)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from training.errors import StanceError
from training.predict import load_predictor
from training.score import _bounded, score_local


def _pairs(trained, n=60) -> pd.DataFrame:
    rows = [json.loads(line) for f in sorted((trained["corpus"] / "data" / "pairs").glob("*.jsonl"))
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    claims = sorted({r["claim"] for r in rows})
    return pd.DataFrame({"id": range(n), "claim": [claims[k % len(claims)] for k in range(n)],
                         "sentence": [rows[k]["sentence"] for k in range(n)], "desk": "politics"})


def _write(df, path):
    {".parquet": lambda: df.to_parquet(path, index=False), ".csv": lambda: df.to_csv(path, index=False),
     ".jsonl": lambda: df.to_json(path, orient="records", lines=True, force_ascii=False)}[path.suffix]()
    return path


def _read(path):
    return {".parquet": pd.read_parquet, ".csv": pd.read_csv,
            ".jsonl": lambda p: pd.read_json(p, lines=True)}[path.suffix](path)


@pytest.mark.parametrize("src_ext,dst_ext", [(".parquet", ".parquet"), (".jsonl", ".csv"), (".csv", ".jsonl")])
def test_local_scoring_carries_columns_and_matches_predict(trained, tmp_path, src_ext, dst_ext):
    p = load_predictor(trained["model"])
    df = _pairs(trained)
    src, dst = _write(df, tmp_path / f"in{src_ext}"), tmp_path / f"out{dst_ext}"
    r = score_local(p, src, dst, chunk_rows=7)
    out = _read(dst)
    assert r["rows"] == len(df) == len(out)
    assert list(out.columns) == ["id", "claim", "sentence", "desk", "stance", *(f"p_{lab}" for lab in p.labels),
                                 "relevance"]
    assert out["id"].tolist() == df["id"].tolist() and set(out["desk"]) == {"politics"}
    labels, proba = p.predict_with_proba(df["claim"].tolist(), df["sentence"].tolist())
    assert out["stance"].tolist() == labels
    assert np.allclose(out[[f"p_{lab}" for lab in p.labels]].to_numpy(), proba, atol=1e-6)
    assert np.allclose(out["relevance"], p.relevance(df["claim"].tolist(), df["sentence"].tolist()), atol=1e-6)
    assert not list(tmp_path.glob(".out*"))  # no temporary file left


def test_two_workers_give_the_same_rows_in_order(trained, tmp_path):
    p = load_predictor(trained["model"])
    src = _write(_pairs(trained, 90), tmp_path / "in.parquet")
    score_local(p, src, tmp_path / "one.parquet", chunk_rows=10)
    score_local(p, src, tmp_path / "two.parquet", chunk_rows=10, workers=2)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "two.parquet"))


def test_a_folder_of_parquet_parts_is_one_input(trained, tmp_path):
    df = _pairs(trained, 30)
    (tmp_path / "parts").mkdir()
    df.iloc[:12].to_parquet(tmp_path / "parts" / "part-0.parquet", index=False)
    df.iloc[12:, ::-1].to_parquet(tmp_path / "parts" / "part-1.parquet", index=False)  # same columns, other order
    score_local(load_predictor(trained["model"]), tmp_path / "parts", tmp_path / "out.parquet", chunk_rows=5)
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns[:len(df.columns)]) == list(df.columns) and sorted(out["id"]) == list(range(30))
    df.iloc[12:].drop(columns="id").to_parquet(tmp_path / "parts" / "part-1.parquet", index=False)
    with pytest.raises(StanceError, match="part-1.parquet: its columns .* differ from the first part's"):
        score_local(load_predictor(trained["model"]), tmp_path / "parts", tmp_path / "out2.parquet", chunk_rows=5)


@pytest.mark.parametrize("make_bad,message", [
    (lambda df: df.drop(columns="sentence"), "in.jsonl:1: no 'sentence' column"),
    (lambda df: df.assign(stance="assert"), "already has a 'stance' column"),
    (lambda df: df.assign(claim=[None] + df["claim"].tolist()[1:]), "in.jsonl:1: field 'claim': expected a string"),
])
def test_bad_input_is_one_line_naming_the_row_and_nothing_is_written(trained, tmp_path, make_bad, message):
    src = _write(make_bad(_pairs(trained, 20)), tmp_path / "in.jsonl")
    with pytest.raises(StanceError, match=message):
        score_local(load_predictor(trained["model"]), src, tmp_path / "out.parquet", chunk_rows=8)
    assert not list(tmp_path.glob("*out*"))


def test_unknown_formats_list_the_valid_ones(trained, tmp_path):
    src = _write(_pairs(trained, 5), tmp_path / "in.jsonl")
    with pytest.raises(StanceError, match=r"out\.xlsx: unknown output format '\.xlsx'; name the file \.jsonl or \.csv or "
                                          r"\.parquet"):
        score_local(load_predictor(trained["model"]), src, tmp_path / "out.xlsx")


def test_cli_reports_a_missing_input_in_one_line(trained, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "training", "score", "--model", str(trained["model"]), "--input",
                           str(tmp_path / "nope.parquet"), "--output", str(tmp_path / "o.parquet")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {tmp_path / 'nope.parquet'}: input not found"


def _spark_ready() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return bool(os.environ.get("JAVA_HOME") or shutil.which("java"))


@pytest.fixture
def spark_ready():
    if not _spark_ready():
        if os.environ.get("STANCE_REQUIRE_SPARK"):
            pytest.fail("pyspark or Java is missing, and STANCE_REQUIRE_SPARK is set (.ci/run installs them)")
        pytest.skip("pyspark or Java missing: .venv/bin/pip install -r requirements-spark.lock; "
                    "apt-get install -y openjdk-17-jre-headless")


def test_spark_engine_gives_the_local_labels_on_every_row(trained, tmp_path, spark_ready, monkeypatch):
    from training.score_spark import score_spark
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    p = load_predictor(trained["model"])
    src = _write(_pairs(trained, 80), tmp_path / "in.parquet")
    score_local(p, src, tmp_path / "local.parquet")
    r = score_spark(str(trained["model"]), src, tmp_path / "spark.parquet", master="local[2]", log=lambda m: None)
    local = pd.read_parquet(tmp_path / "local.parquet").set_index("id").sort_index()
    spark = pd.read_parquet(tmp_path / "spark.parquet").set_index("id").sort_index()
    assert r["rows"] == 80 and spark.index.tolist() == local.index.tolist()
    assert spark["stance"].tolist() == local["stance"].tolist()
    cols = [f"p_{lab}" for lab in p.labels]
    assert np.allclose(spark[cols].to_numpy(), local[cols].to_numpy(), atol=1e-9)
    assert (spark["desk"] == "politics").all()


def test_decide_reproduces_the_two_stage_rule():
    from training.predict import decide
    rule = {"kind": "two_stage", "negative": "unrelated", "threshold": 0.4,
            "weights": {"agree": 1.0, "disagree": 3.0, "discuss": 1.0}}
    classes = ["agree", "disagree", "discuss", "unrelated"]
    proba = np.array([[0.1, 0.1, 0.1, 0.7], [0.3, 0.15, 0.35, 0.2], [0.5, 0.1, 0.2, 0.2]])
    assert decide(rule, classes, proba) == ["unrelated", "disagree", "agree"]
    assert decide({"kind": "argmax"}, classes, proba) == ["unrelated", "discuss", "agree"]


class _DyingPredictor:
    """Stands in for a model whose worker process is killed mid-run (OOM killer, kill -9)."""
    labels, has_relevance = ["assert", "deny", "warn"], False

    def predict_with_proba(self, claims, sentences):
        os._exit(9)


def test_a_dead_worker_fails_the_run_in_one_line_instead_of_hanging(trained, tmp_path):
    src = _write(_pairs(trained, 40), tmp_path / "in.parquet")
    with pytest.raises(StanceError, match="a worker process died"):
        score_local(_DyingPredictor(), src, tmp_path / "out.parquet", chunk_rows=10, workers=2)
    assert not list(tmp_path.glob("*out*"))


def test_a_pool_broken_before_submit_gives_the_same_one_line_error():
    """The worker may die before the next chunk is handed out: then submit raises, not result
    (seen once in make test)."""
    from concurrent.futures.process import BrokenProcessPool

    class Broken:
        def submit(self, *args):
            raise BrokenProcessPool("a child process terminated abruptly")

    chunk = pd.DataFrame({"claim": ["c"], "sentence": ["s"]})
    with pytest.raises(StanceError, match="a worker process died"):
        list(_bounded(Broken(), iter([chunk, chunk]), 2))
