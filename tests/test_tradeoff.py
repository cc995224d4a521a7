"""The trade-off measurement: one row per (hard weight, meaning share), every slice and
external set scored, and the files written."""

import json

import pytest

from conftest import make_corpus, write_config
from training.cli import main


@pytest.fixture
def setup(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    rows = [json.loads(line) for line in (corpus / "data" / "pairs" / "101_valdoria_voter_register.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    ext = tmp_path / "real.jsonl"
    ext.write_text("".join(json.dumps({k: r[k] for k in ("claim", "sentence", "stance")}) + "\n" for r in rows))
    cfg = write_config(tmp_path / "c.yaml", corpus, **{
        "features.frames.enabled": True, "model.type": "stacked", "model.params": {"max_iter": 20, "cv": 3},
        "evaluation.external": {"real": str(ext)}})
    return tmp_path, cfg


def test_tradeoff_writes_a_row_per_variant_and_a_plot(setup, capsys):
    tmp, cfg = setup
    out = tmp / "to"
    assert main(["tradeoff", "--config", str(cfg), "--hard-weights", "0,1", "--meaning-shares", "0,1",
                 "--output", str(out)]) == 0
    data = json.loads((out / "tradeoff.json").read_text())
    # 0 and 1, plus the config's own meaning share (the 0.5 default) added so the shipped point is measured
    assert {(r["hard_weight"], r["meaning_share"]) for r in data["rows"]} == {
        (w, s) for w in (0.0, 1.0) for s in (0.0, 0.5, 1.0)}
    for r in data["rows"]:
        for k in ("test_natural", "test_hard", "external_real"):
            assert 0.0 <= r[k] <= 1.0, (k, r)
    assert data["cue_rule"]["test_natural"] > 0.99  # natural pairs are the ones the rule gets right
    assert (out / "tradeoff.png").stat().st_size > 10_000 and (out / "tradeoff.csv").is_file()
    assert "cue rule" in capsys.readouterr().out


def test_bad_weights_are_a_one_line_error(setup, capsys):
    tmp, cfg = setup
    assert main(["tradeoff", "--config", str(cfg), "--hard-weights", "0,heavy"]) == 2
    assert "--hard-weights: expected comma-separated numbers" in capsys.readouterr().err
