import numpy as np

from training.evaluate import bootstrap_macro_f1, flat_metrics, scores, write_reports

L = ["agree", "disagree", "discuss", "unrelated"]


def test_scores_and_flat_metrics():
    r = scores(["a", "b", "b", "c"], ["a", "b", "c", "c"], ["a", "b", "c"])
    assert r["accuracy"] == 0.75
    assert r["per_class"]["b"]["recall"] == 0.5 and r["confusion"][1] == [0, 1, 1]
    flat = flat_metrics("test", r)
    assert flat["test_f1_a"] == 1.0 and "test_macro_f1" in flat


def test_bootstrap_is_seeded_and_brackets_the_point_estimate():
    rng = np.random.default_rng(0)
    gold = rng.choice(["a", "b", "c"], 300)
    pred = np.where(rng.random(300) < 0.8, gold, "a")
    groups = np.repeat(np.arange(30), 10)
    lo, hi = bootstrap_macro_f1(gold, pred, groups, ["a", "b", "c"], 200, seed=1)
    assert (lo, hi) == bootstrap_macro_f1(gold, pred, groups, ["a", "b", "c"], 200, seed=1)
    point = scores(gold, pred, ["a", "b", "c"])["macro_f1"]
    assert lo < point < hi


def test_reports_are_written(tmp_path):
    labels = ["a", "b"]
    rows = [{"id": "1", "doc_id": "d", "claim": "c", "sentence": "s", "stance": "a", "tags": []},
            {"id": "2", "doc_id": "d", "claim": "c", "sentence": "t", "stance": "b", "tags": ["hard"]}]
    r = scores(["a", "b"], ["a", "a"], labels)
    files = write_reports(tmp_path, "test", r, labels, rows, ["a", "a"], [[0.9, 0.1], [0.6, 0.4]])
    names = sorted(f.name for f in files)
    assert names == ["test_confusion_matrix.csv", "test_confusion_matrix.png", "test_misclassified.jsonl",
                     "test_per_class.csv", "test_per_class.png"]
    assert (tmp_path / "test_misclassified.jsonl").read_text().count("\n") == 1
    assert (tmp_path / "test_confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_bootstrap_counts_an_unknown_prediction_as_wrong():
    # regression: unknown predicted labels were silently mapped to the first label
    y = ["assert", "assert", "deny", "deny"]
    groups = ["a", "b", "c", "d"]
    lo, hi = bootstrap_macro_f1(y, ["maybe"] * 4, groups, ["assert", "deny"], 50, 0)
    assert hi == 0.0
    lo, hi = bootstrap_macro_f1(y, y, groups, ["assert", "deny"], 50, 0)
    assert lo == hi == 1.0
