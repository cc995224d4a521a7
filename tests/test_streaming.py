"""Streamed training (data.streaming: true, model.type sgd): a run end to end on the fixture corpus,
the exported model through load_predictor, the splits (the in-memory loaders' own, deterministic,
grouped by document or story), batches never larger than data.batch_size, and config errors."""

import csv
import json
import os
import sys

import numpy as np
import pytest
import yaml

from conftest import ROOT, SHARED_FNC1, make_corpus, stop_training_at, write_config
from training.config import from_dict, load_config
from training.datasets import load_corpus
from training.errors import StanceError
from training.streaming_data import open_stream, write_copies

STREAM = {"data.streaming": True, "data.batch_size": 64, "model.type": "sgd", "model.params": {"max_iter": 2},
          "evaluation.bootstrap": 20, "relevance.enabled": False}


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    """One streamed training through training.pipeline.run, for the tests that read its outputs."""
    from training.pipeline import run
    tmp = tmp_path_factory.mktemp("stream")
    corpus = make_corpus(tmp / "corpus")
    ext = tmp / "external.jsonl"  # a set outside the corpus, scored as in a normal run
    ext.write_text("".join(json.dumps({"claim": "The bridge has closed", "sentence": s, "stance": lab}) + "\n" for s, lab in (
        ("Officials denied the bridge has closed.", "deny"), ("The bridge has closed, the city said.", "assert"))))
    cfg = load_config(write_config(tmp / "s.yaml", corpus, **STREAM, **{"evaluation.external": {"mini": str(ext)}}))
    lines = []
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    try:
        metrics = run(cfg, models_dir=str(tmp / "models"), log=lines.append)
    finally:
        mp.undo()
    return {"tmp": tmp, "corpus": corpus, "cfg": cfg, "path": tmp / "s.yaml", "metrics": metrics, "log": lines,
            "model": tmp / "models" / "fixture"}


def test_streamed_run_evaluates_tracks_and_exports_like_a_normal_one(streamed):
    m, log, model = streamed["metrics"], streamed["log"], streamed["model"]
    for key in ("dev_macro_f1", "test_macro_f1", "test_f1_deny", "test_hard_macro_f1", "test_macro_f1_ci_low",
                "baseline_majority_test_macro_f1", "baseline_cue_rule_dev_macro_f1", "external_mini_macro_f1",
                "baseline_cue_rule_external_mini_macro_f1", "fit_seconds", "run_id"):
        assert key in m, key
    assert m["test_macro_f1"] > 0.4 and m["epochs"] == 2
    assert any(line.startswith("epoch 2/2:") and "pairs/s" in line for line in log)  # progress on the log
    assert any("cross-validation: skipped" in line for line in log)
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["streamed"] and meta["config"]["data"]["streaming"] and meta["mlflow_run_id"] == m["run_id"]
    assert meta["split_sizes"]["test"] == m["test_pairs"]
    for f in ("test_confusion_matrix.csv", "test_per_class.png", "dev_misclassified.jsonl", "external_mini_per_class.csv",
              "metrics.json"):
        assert (model / "reports" / f).is_file(), f
    wrong = [json.loads(x) for x in (model / "reports" / "test_misclassified.jsonl").read_text().splitlines()]
    assert wrong and all(w["gold"] != w["predicted"] for w in wrong)
    assert len(wrong) == round((1 - m["test_accuracy"]) * m["test_pairs"])
    assert not list(model.parent.glob(".fixture.tmp-*"))  # the staging directory is gone


def test_exported_model_loads_and_predicts(streamed):
    from training.predict import load_predictor
    p = load_predictor(streamed["model"])
    claims = ["The dam has cracked", "The dam has cracked"]
    sentences = ["Engineers denied that the dam has cracked.", "Residents were warned to leave before the dam fails."]
    proba = p.predict_proba(claims, sentences)
    assert p.labels == ["assert", "deny", "warn"] and proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1)
    assert p.predict(claims, sentences) == [p.labels[i] for i in proba.argmax(axis=1)]
    labels, proba2 = p.predict_with_proba(claims, sentences)
    assert labels == p.predict(claims, sentences) and np.allclose(proba, proba2)


def test_registered_model_is_in_the_mlflow_store(streamed):
    import mlflow
    client = mlflow.MlflowClient(f"sqlite:///{streamed['tmp'] / 'mlflow.db'}")
    run = client.get_run(streamed["metrics"]["run_id"])
    assert run.info.status == "FINISHED" and run.data.params["data.streaming"] == "True"
    assert client.search_model_versions("name='stance-classifier'")


def ids_by_split(stream, **kw):
    return {s: [i for b in stream.batches(s, **kw) for i in b["id"]] for s in ("train", "dev", "test")}


def test_split_is_the_in_memory_one_deterministic_and_by_document(tmp_path, corpus_dir):
    cfg = load_config(write_config(tmp_path / "c.yaml", corpus_dir, **STREAM))
    a, b = open_stream(cfg), open_stream(cfg)
    first = ids_by_split(a)
    assert first == ids_by_split(b)
    memory = load_corpus(cfg)
    assert first == {s: list(memory.splits[s]["id"]) for s in first} and a.hash == memory.hash
    doc_of = {r["id"]: r["doc_id"] for s in first for r in memory.rows(s)}
    by_doc = {s: {doc_of[i] for i in first[s]} for s in first}  # every pair of a document in one split
    assert not (by_doc["train"] & by_doc["dev"] or by_doc["train"] & by_doc["test"] or by_doc["dev"] & by_doc["test"])
    # shuffled epochs: the same pairs, another order, the same order again for the same epoch
    e0, e1 = (ids_by_split(a, epoch=e)["train"] for e in (0, 1))
    assert sorted(e0) == sorted(first["train"]) and e0 != first["train"] and e0 != e1
    assert e0 == ids_by_split(b, epoch=0)["train"]


def test_batches_are_never_larger_than_batch_size(tmp_path, corpus_dir):
    import datasets
    cfg = load_config(write_config(tmp_path / "c.yaml", corpus_dir, **{**STREAM, "data.batch_size": 7}))
    stream = open_stream(cfg)
    assert isinstance(stream.open_split("train", frozenset()), datasets.IterableDataset)  # read lazily, not loaded
    sizes = [len(b) for b in stream.batches("train", epoch=0)]
    assert max(sizes) == 7 and sum(sizes) == stream.sizes["train"]
    assert all(len(b) <= 7 for s in ("dev", "test") for b in stream.batches(s))


def write_fnc(folder, stories=12, per_story=6):
    """A small FNC-1: each story a headline and a body agreeing, plus unrelated pairs across stories."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train_bodies.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Body ID", "articleBody"])
        w.writerows([(str(k), f"Story {k} body,\nwith a newline and the word topic{k}.") for k in range(stories)])
    rows = []
    for k in range(stories):
        rows.append((f"Headline about topic{k}", str(k), ["agree", "disagree", "discuss"][k % 3]))
        rows += [(f"Headline about topic{k}", str((k + j) % stories), "unrelated") for j in range(1, per_story)]
    with open(folder / "train_stances.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Headline", "Body ID", "Stance"])
        w.writerows(rows)
    return folder


def fnc_cfg(folder, **data):
    return from_dict({"name": "f", "data": {"format": "fnc1", "path": str(folder), "streaming": True, "batch_size": 5,
                                            "labels": ["agree", "disagree", "discuss", "unrelated"],
                                            "split": {"train": 0.6, "dev": 0.4, "test": 0.0}, **data},
                      "model": {"type": "sgd"}, "relevance": {"enabled": False}, "evaluation": {"baselines": ["majority"]}})


def test_fnc1_story_split_is_the_in_memory_one(tmp_path, monkeypatch):
    monkeypatch.delenv("FNC1_DIR", raising=False)
    monkeypatch.delenv("FNC1_TEST_DIR", raising=False)
    cfg = fnc_cfg(write_fnc(tmp_path / "fnc"))
    stream, memory = open_stream(cfg), load_corpus(cfg)
    got = {s: [r for b in stream.batches(s) for r in b.to_dict("records")] for s in ("train", "dev")}
    for s, rows in got.items():
        want = memory.rows(s)
        assert [r["id"] for r in rows] == [r["id"] for r in want] and rows
        assert [(r["claim"], r["sentence"], r["stance"], r["group"]) for r in rows] == \
               [(r["claim"], r["sentence"], r["stance"], r["group"]) for r in want]
    assert stream.hash == memory.hash and sum(stream.fit_counts.values()) == len(got["train"])


def test_write_copies_repeats_the_stances_shuffled(tmp_path):
    src = write_fnc(tmp_path / "fnc")
    out = write_copies(src, tmp_path / "x3", 3)
    read = lambda p: list(csv.reader(open(p, newline="", encoding="utf-8")))  # noqa: E731
    one, three = read(src / "train_stances.csv"), read(out / "train_stances.csv")
    assert three[0] == one[0] and sorted(three[1:]) == sorted(one[1:] * 3) and three[1:len(one)] != one[1:]
    assert (out / "train_bodies.csv").read_bytes() == (src / "train_bodies.csv").read_bytes()


@pytest.mark.parametrize("data, model, message", [
    ({"streaming": True, "batch_size": 0}, {"type": "sgd"}, "s.yaml: data.batch_size: 0 is below the minimum 1"),
    ({"streaming": True, "shuffle_buffer": -1}, {"type": "sgd"}, "s.yaml: data.shuffle_buffer: -1 is below the minimum 0"),
    ({"streaming": True}, {"type": "stacked"}, "s.yaml: model.type: 'stacked' needs the whole corpus in memory"),
    ({"streaming": True}, {"type": "sgd", "calibrate": True}, "s.yaml: model.calibrate: calibration refits"),
    ({"streaming": "yes"}, {"type": "sgd"}, "s.yaml: data.streaming: expected true or false"),
    ({"streaming": True}, {"type": "sgd", "params": {"loss": "hinge"}}, "s.yaml: model.params.loss: sgd with loss 'hinge'"),
])
def test_bad_streaming_config_is_one_line_naming_the_key(data, model, message):
    with pytest.raises(StanceError, match="^" + message.replace(".", r"\.").replace("(", r"\(")):
        from_dict({"data": data, "model": model}, source="s.yaml")


def test_bad_streaming_values_name_file_and_line(tmp_path, corpus_dir):
    path = write_config(tmp_path / "c.yaml", corpus_dir, **{**STREAM, "data.batch_size": 0})
    line = next(n for n, x in enumerate(path.read_text().splitlines(), 1) if "batch_size" in x)
    with pytest.raises(StanceError, match=rf"c\.yaml:{line}: data\.batch_size: 0 is below the minimum 1"):
        load_config(path)
    raw = yaml.safe_load(path.read_text())
    raw["data"]["batch_size"] = 8
    raw["model"]["params"] = {"alpah": 1e-4}
    from training.streaming import build_sgd
    with pytest.raises(StanceError, match=r"model\.params\.alpah: unknown parameter 'alpah' for sgd; valid: .*alpha"):
        build_sgd(from_dict(raw), {})


def test_bad_row_is_named_by_file_and_line(tmp_path):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    good = {"id": "a", "doc_id": "d", "claim_id": "c", "claim": "x", "sentence": "y", "stance": "assert"}
    (pairs / "p.jsonl").write_text("\n".join([json.dumps(good), "", json.dumps({**good, "id": "b", "stance": "denied"})]) + "\n")
    cfg = from_dict({"data": {"path": str(pairs), "seeds_dir": str(tmp_path), "streaming": True}, "model": {"type": "sgd"}})
    with pytest.raises(StanceError, match=r"p\.jsonl:3: field 'stance': unknown label 'denied'; valid labels: assert"):
        open_stream(cfg)
    (pairs / "p.jsonl").write_text(json.dumps(good) + "\n{broken\n")
    with pytest.raises(StanceError, match=r"p\.jsonl:2: malformed JSON"):
        open_stream(cfg)


@pytest.mark.slow
def test_memory_is_flat_on_eight_copies_of_fnc1(tmp_path):
    """The real FNC-1 train and eight shuffled copies of its stances: peak RSS within 15%."""
    if not (SHARED_FNC1 / "train_stances.csv").is_file():
        pytest.skip(f"FNC-1 not found at {SHARED_FNC1}")
    from training.streaming_data import memory_check
    res = memory_check(SHARED_FNC1, copies=8, workdir=tmp_path, log=lambda m: None)
    assert res["x8_train_pairs"] == 8 * res["x1_train_pairs"]
    assert res["ratio"] < 1.15, res


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["load", "features", "fit", "evaluate", "log_model", "publish"])
def test_a_streamed_training_stopped_at_any_stage_keeps_the_previous_model(streamed, tmp_path, stage):
    """SIGTERM at each pipeline.checkpoint of a streamed run: exit 143, no run left RUNNING, no
    staging directory, the previous model byte for byte (as test_cli checks for a normal run)."""
    proc, runs, models, before = stop_training_at(stage, streamed["model"], streamed["path"], tmp_path)
    assert proc.returncode == 143, proc.stderr[-800:]
    assert not [r for r in runs if r.info.status == "RUNNING"]
    assert sorted(p.name for p in models.iterdir() if p.suffix != ".lock") == ["fixture"]
    assert (models / "fixture" / "model.joblib").read_bytes() == before
