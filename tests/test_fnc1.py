"""FNC-1 loading, story split and score, on a small fixture written here; the tests on the
real data skip with a message when ../shared/data/fnc1 is absent."""

import csv

import pytest

from conftest import ROOT, SHARED_FNC1
from training.config import from_dict
from training.datasets import load_corpus
from training.datasets.fnc1 import fnc_score
from training.errors import StanceError

LABELS = ["agree", "disagree", "discuss", "unrelated"]
BODIES = {
    "1": "Police said the robbery happened at noon.\nWitnesses saw two men run from the bank.",
    "2": "The actor denied he was leaving the show, calling the rumour \"nonsense\".",
    "3": "A new species of frog was described in the journal on Monday.",
    "4": "Officials are discussing whether the bridge will close next year.",
}
STANCES = [
    ("Bank robbed at noon", "1", "agree"), ("Bank robbed at noon", "3", "unrelated"),
    ("Actor quits hit show", "2", "disagree"), ("Actor quits hit show", "1", "unrelated"),
    ("Bridge to close", "4", "discuss"), ("Bridge to close", "3", "unrelated"),
    ("New frog found", "3", "agree"), ("New frog found", "2", "unrelated"),
]


def write_fnc(folder, prefix="train", stances=STANCES, bodies=BODIES):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{prefix}_bodies.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Body ID", "articleBody"])
        w.writerows(bodies.items())
    with open(folder / f"{prefix}_stances.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Headline", "Body ID", "Stance"])
        w.writerows(stances)
    return folder


def fnc_cfg(folder, **data):
    return from_dict({"name": "fnc1", "data": {"format": "fnc1", "path": str(folder), "labels": LABELS,
                                               "split": {"train": 0.6, "dev": 0.4, "test": 0.0}, **data},
                      "evaluation": {"baselines": ["majority"], "fnc_score": True}})


def test_loader_joins_bodies_and_keeps_newlines(tmp_path, monkeypatch):
    monkeypatch.delenv("FNC1_DIR", raising=False)
    monkeypatch.delenv("FNC1_TEST_DIR", raising=False)
    c = load_corpus(fnc_cfg(write_fnc(tmp_path / "fnc")))
    rows = [r for s in ("train", "dev") for r in c.rows(s)]
    assert len(rows) <= len(STANCES) and c.splits["train"].features["label"].names == LABELS
    # the story split may drop pairs that link dev and train, never a related pair inside a story
    by = {(r["claim"], r["stance"]): r for r in rows}
    assert ("Bank robbed at noon", "agree") in by
    assert by[("Bank robbed at noon", "agree")]["sentence"] == BODIES["1"]  # newline kept
    for key in ("claim", "doc_id"):  # no headline and no body on both sides
        assert not {r[key] for r in c.rows("train")} & {r[key] for r in c.rows("dev")}


def test_env_dirs_win_and_test_split_is_read(tmp_path, monkeypatch):
    write_fnc(tmp_path / "real")
    write_fnc(tmp_path / "test", prefix="competition_test", stances=STANCES[:3])
    monkeypatch.setenv("FNC1_DIR", str(tmp_path / "real"))
    monkeypatch.setenv("FNC1_TEST_DIR", str(tmp_path / "test"))
    c = load_corpus(fnc_cfg(tmp_path / "nowhere"))
    assert len(c.splits["test"]) == 3


def test_missing_files_and_bad_labels_are_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("FNC1_DIR", raising=False)
    with pytest.raises(StanceError, match="train_bodies.csv: FNC-1 file not found; set FNC1_DIR"):
        load_corpus(fnc_cfg(tmp_path / "empty"))
    write_fnc(tmp_path / "bad", stances=STANCES + [("x", "1", "maybe")])
    with pytest.raises(StanceError, match=r"train_stances\.csv:10: field 'Stance': unknown label 'maybe'"):
        load_corpus(fnc_cfg(tmp_path / "bad"))
    write_fnc(tmp_path / "orphan", stances=STANCES + [("x", "99", "agree")])
    with pytest.raises(StanceError, match="Body ID': 99 is not in train_bodies.csv"):
        load_corpus(fnc_cfg(tmp_path / "orphan"))


def test_score_on_the_fixture_by_hand():
    gold = [s for _, _, s in STANCES]
    # all related pairs called "discuss", all unrelated right:
    # unrelated 4 x 0.25 = 1.0; related: discuss exact 1.0, three others 0.25 each -> 1.75; max 4*0.25 + 4 = 5
    pred = ["discuss" if s != "unrelated" else "unrelated" for s in gold]
    assert fnc_score(gold, pred) == pytest.approx(100 * 2.75 / 5)


needs_fnc1 = pytest.mark.skipif(not (SHARED_FNC1 / "train_stances.csv").is_file(),
                                reason=f"FNC-1 data not found at {SHARED_FNC1}; these tests need ../shared/data/fnc1")


@needs_fnc1
def test_real_fnc1_story_split(monkeypatch):
    monkeypatch.delenv("FNC1_DIR", raising=False)
    monkeypatch.delenv("FNC1_TEST_DIR", raising=False)
    c = load_corpus(fnc_cfg(SHARED_FNC1, split={"train": 0.8, "dev": 0.2, "test": 0.0}))
    train, dev = c.frame("train"), c.frame("dev")
    assert 0.15 < len(dev) / 49972 < 0.25  # dropped cross pairs are all unrelated:
    assert (train["stance"] != "unrelated").sum() + (dev["stance"] != "unrelated").sum() == 49972 - 36545
    assert not set(train["claim"]) & set(dev["claim"])
    assert not set(train["sentence"]) & set(dev["sentence"])
    assert set(dev["stance"]) == set(LABELS)


def _synthetic_fnc(folder, n_stories=12):
    """Stories with one body and two headlines each; unrelated pairs cross stories."""
    topics = ["bridge", "mayor", "flood", "vaccine", "stadium", "museum", "pipeline", "election", "harbour",
              "satellite", "orchard", "railway"]
    bodies, stances = {}, []
    for i, t in enumerate(topics[:n_stories]):
        bodies[str(i)] = (f"Officials confirmed the {t} story on Monday. Witnesses described the {t} in detail.\n"
                          f"Some reports about the {t} were called false by a spokesman. Experts discussed the {t}.")
        stances += [(f"The {t} story is true", str(i), ["agree", "disagree", "discuss"][i % 3]),
                    (f"Reports on the {t} emerge", str(i), "discuss"),
                    (f"The {t} story is true", str((i + 5) % n_stories), "unrelated"),
                    (f"Reports on the {t} emerge", str((i + 7) % n_stories), "unrelated")]
    return write_fnc(folder, stances=stances, bodies=bodies)


def test_fnc1_config_trains_exports_and_loads(tmp_path, monkeypatch, mlflow_store):
    import yaml
    from training.cli import main
    from training.predict import load_predictor
    monkeypatch.delenv("FNC1_DIR", raising=False)
    monkeypatch.delenv("FNC1_TEST_DIR", raising=False)
    folder = _synthetic_fnc(tmp_path / "fnc")
    cfg = yaml.safe_load((ROOT / "configs" / "fnc1.yaml").read_text())
    cfg["data"]["path"] = str(folder)
    cfg["features"]["cache"] = False
    cfg["features"]["article"]["char_max_features"] = 5000
    small = {"max_iter": 10, "min_samples_leaf": 2}
    cfg["model"]["params"].update(cv=2, stage1_params=small, stage2_params=small)
    cfg["evaluation"]["bootstrap"] = 20
    path = tmp_path / "fnc1.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", "--config", str(path), "--models-dir", str(tmp_path / "models")]) == 0
    p = load_predictor(tmp_path / "models" / "fnc1")
    assert p.labels == LABELS
    heads = ["The bridge story is true", "The mayor story is true"]
    bodies = [BODIES["1"], BODIES["4"]]
    assert all(lab in LABELS for lab in p.predict(heads, bodies))
    assert p.predict_proba(heads, bodies).shape == (2, 4)


@pytest.mark.slow
@needs_fnc1
def test_bench_fnc1_on_the_real_data(tmp_path, monkeypatch, mlflow_store, capsys):
    """The full benchmark (about 1.5 min here): figures measured, not the issue's targets."""
    from training.cli import main
    monkeypatch.delenv("FNC1_DIR", raising=False)
    monkeypatch.chdir(ROOT)
    assert main(["bench-fnc1", "--models-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("this package"))
    fnc, f1 = float(row.split()[-5].rstrip("%")), float(row.split()[-4])
    assert fnc > 79.0 and f1 > 0.60  # measured 80.40% / 0.632 on this split


def test_make_data_on_fnc1_prints_statistics_and_skips_the_corpus_quotas(tmp_path, monkeypatch, capsys):
    import yaml
    from training.cli import main
    monkeypatch.delenv("FNC1_DIR", raising=False)
    monkeypatch.delenv("FNC1_TEST_DIR", raising=False)
    cfg = tmp_path / "fnc.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"format": "fnc1", "path": str(write_fnc(tmp_path / "fnc")), "labels": LABELS,
                                            "split": {"train": 0.6, "dev": 0.4, "test": 0.0}},
                                   "evaluation": {"baselines": ["majority"]}}))
    assert main(["data", "--config", str(cfg), "--quotas"]) == 0
    out = capsys.readouterr().out
    assert "all rows valid" in out and "skipped for format 'fnc1'" in out


def test_fnc_score_by_hand():
    # unrelated right: 0.25; related with exact label: 1.0; related, wrong related label: 0.25;
    # related called unrelated: 0; unrelated called related: 0. Max = 0.25 + 1 + 1 + 1 + 0.25 = 3.5
    gold = ["unrelated", "agree", "discuss", "disagree", "unrelated"]
    pred = ["unrelated", "agree", "agree", "unrelated", "discuss"]
    assert fnc_score(gold, pred) == pytest.approx(100 * (0.25 + 1.0 + 0.25 + 0 + 0) / 3.5)
    assert fnc_score(gold, gold) == pytest.approx(100.0)
    assert fnc_score(["unrelated"] * 4, ["unrelated"] * 4) == pytest.approx(100.0)


def test_fnc_score_reweighted_to_a_class_mix_by_hand():
    gold, pred = ["unrelated", "agree"], ["unrelated", "discuss"]
    assert fnc_score(gold, pred) == pytest.approx(100 * 0.5 / 1.25)
    assert fnc_score(gold, pred, unrelated_share=0.5) == pytest.approx(40.0)  # already the mix: unchanged
    # weights 0.8/0.5 for unrelated, 0.2/0.5 for related: (1.6*.25 + .4*.25) / (1.6*.25 + .4*1) = 0.625
    assert fnc_score(gold, pred, unrelated_share=0.8) == pytest.approx(62.5)


def test_bench_table_shows_the_run_beside_the_anchors():
    from training.datasets.fnc1 import ANCHORS, bench_table
    m = {"dev_fnc_score": 80.4, "dev_macro_f1": 0.632, "dev_f1_disagree": 0.164, "dev_fnc_score_test_mix": 83.9,
         "baseline_majority_dev_fnc_score": 39.0, "baseline_majority_dev_macro_f1": 0.18}
    text = bench_table(m, "two_stage", 81.8, 916)
    assert "this package, two_stage (dev)" in text and "80.40%" in text and "0.164" in text
    assert "83.90%" in text and "majority class (dev)" in text
    assert all(name in text for name, *_ in ANCHORS)
