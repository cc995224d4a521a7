"""Labelled sets outside the corpus: reading and its errors, macro-F1 over the labels present,
`evaluate` through the CLI, and `evaluation.external` in a training run."""

import json

import pytest

from conftest import make_corpus, write_config
from training.cli import main
from training.errors import StanceError
from training.evaluate import scores
from training.external import read_labelled

LABELS = ["assert", "deny", "warn"]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_macro_f1_is_over_the_labels_present_and_a_warn_guess_is_an_error():
    gold = ["assert", "assert", "deny", "deny"]
    perfect = scores(gold, gold, LABELS)
    assert perfect["macro_f1"] == 1.0 and perfect["present"] == ["assert", "deny"]
    one_warn = scores(gold, ["assert", "warn", "deny", "deny"], LABELS)
    # assert: P 1, R 0.5 -> F1 2/3; deny: F1 1; warn is absent from the gold and not averaged
    assert one_warn["macro_f1"] == pytest.approx((2 / 3 + 1) / 2)


@pytest.mark.parametrize("row, message", [
    ({"claim": "c", "stance": "deny"}, "field 'sentence': missing"),
    ({"claim": "c", "sentence": " ", "stance": "deny"}, "field 'sentence': missing, empty"),
    ({"claim": "c", "sentence": "s", "stance": "refute"}, "unknown label 'refute'; the model's labels are assert, deny, warn"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, row, message):
    path = write_jsonl(tmp_path / "set.jsonl", [{"claim": "c", "sentence": "s", "stance": "assert"}, row])
    with pytest.raises(StanceError, match=f"set.jsonl:2: .*{message}"):
        read_labelled(path, LABELS)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(StanceError, match="labelled set not found"):
        read_labelled(tmp_path / "none.jsonl", LABELS)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(StanceError, match="no labelled pairs"):
        read_labelled(tmp_path / "empty.jsonl", LABELS)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The default model family (stacked, frames) trained on the fixture corpus, with one
    external set that exists and one that does not."""
    tmp = tmp_path_factory.mktemp("ext")
    corpus = make_corpus(tmp / "corpus")
    rows = [json.loads(line) for p in sorted((corpus / "data" / "pairs").glob("*.jsonl"))[:3]
            for line in p.read_text(encoding="utf-8").splitlines()]
    ext = write_jsonl(tmp / "real.jsonl", [{k: r[k] for k in ("id", "claim", "sentence", "stance")}
                                           for r in rows if r["stance"] != "warn"])
    cfg = write_config(tmp / "c.yaml", corpus, **{
        "features.frames.enabled": True, "model.type": "stacked",
        "model.params": {"max_iter": 40, "label_scale": {"warn": 0.5}}, "data.hard_weight": 0.5,
        "evaluation.cv_folds": 0, "evaluation.bootstrap": 0, "tracking.log_model": False,
        "evaluation.external": {"real": str(ext), "gone": str(tmp / "missing.jsonl")}})
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
    try:
        assert main(["train", "--config", str(cfg), "--models-dir", str(tmp / "models")]) == 0
    finally:
        mp.undo()
    return {"tmp": tmp, "model": tmp / "models" / "fixture", "ext": ext}


def test_training_scores_external_sets_and_skips_missing_ones(trained, capsys):
    meta = json.loads((trained["model"] / "metadata.json").read_text())
    m = meta["metrics"]
    for k in ("external_real_macro_f1", "baseline_cue_rule_external_real_macro_f1", "test_natural_macro_f1",
              "test_hard_macro_f1", "baseline_cue_rule_test_hard_macro_f1"):
        assert k in m, k
    assert not any("gone" in k for k in m)
    assert (trained["model"] / "reports" / "external_real_confusion_matrix.png").is_file()
    assert meta["config"]["data"]["hard_weight"] == 0.5


def test_evaluate_cli_prints_the_table_and_writes_json_and_plots(trained, capsys, tmp_path):
    out = tmp_path / "new" / "dir"
    assert main(["evaluate", "--model", str(trained["model"]), "--input", str(trained["ext"]),
                 "--output", str(out)]) == 0
    text = capsys.readouterr().out
    n = len(trained["ext"].read_text().splitlines())
    assert f"{n} pairs; gold labels present: assert, deny" in text
    assert "macro-F1 over the labels present: model" in text and "cue-word rule" in text
    assert "confusion, model (rows gold, columns predicted)" in text
    result = json.loads((out / "evaluation.json").read_text())
    assert result["pairs"] == n and len(result["predictions"]) == n
    assert result["model"]["present"] == ["assert", "deny"]
    assert sum(map(sum, result["model"]["confusion"])) == n
    assert {"model_confusion_matrix.png", "cue_rule_confusion_matrix.png"} <= {p.name for p in out.iterdir()}
    # the printed figure is the stored one, and the metric agrees with the training run's
    meta = json.loads((trained["model"] / "metadata.json").read_text())
    assert f"model {result['model']['macro_f1']:.3f}" in text
    assert result["model"]["macro_f1"] == pytest.approx(meta["metrics"]["external_real_macro_f1"])


def test_evaluate_cli_user_errors_are_one_line(trained, capsys, tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"claim": "c", "sentence": "s"}])
    assert main(["evaluate", "--model", str(trained["model"]), "--input", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.jsonl:1: field 'stance'" in err[0]
    assert main(["evaluate", "--model", str(tmp_path / "nope"), "--input", str(bad)]) == 2


def test_split_without_dev_and_test_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus", docs=["101_valdoria_voter_register", "102_maranta_fuel_subsidy"])
    cfg = write_config(tmp_path / "c.yaml", corpus, **{"data.split": {"train": 1.0, "dev": 0.0, "test": 0.0}})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert main(["train", "--config", str(cfg), "--models-dir", str(tmp_path / "models")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dev and test are both 0" in err[0]
    assert not (tmp_path / "models" / "fixture").exists()
