"""The bundled corpus (seeds/ + data/pairs/) meets the data contract and the issue's quotas,
and the cue-word rule does badly on it (the corpus teaches stance, not cue words)."""


import numpy as np
import pytest

from conftest import ROOT
from training.config import load_config
from training.datasets import load_corpus
from training.datasets.jsonl import check_quotas, corpus_stats, second_pass_agreement
from training.evaluate import scores
from training.models import CueRuleClassifier


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(load_config(ROOT / "configs" / "default.yaml"))  # validates every row


@pytest.fixture(scope="module")
def stats(corpus):
    return corpus_stats(corpus)


def test_every_quota_holds(stats):
    failed = [f"{name}: {detail}" for name, ok, detail in check_quotas(stats, ROOT / "seeds") if not ok]
    assert not failed, failed


def test_counts_and_shares(stats):
    assert stats["documents"] >= 325 and stats["pairs"] >= 6987 and stats["claims"] >= 900
    assert set(stats["label"]) == {"assert", "deny", "warn"}
    assert min(stats["label"].values()) / stats["pairs"] >= 0.25
    assert 0.15 <= stats["hard"] / stats["pairs"] <= 0.35
    assert len([d for d in stats["domain_docs"] if d != "(unknown)"]) >= 10


def test_seed_article_is_annotated_toward_three_claims(corpus):
    seed = "000_78bd94f09c977c23"
    shared = ROOT.parent / "shared" / "seeds" / f"{seed}.txt"
    if shared.is_file():  # CI and developers have ../shared; a user's clone need not
        assert (ROOT / "seeds" / f"{seed}.txt").read_bytes() == shared.read_bytes()
    rows = [r for s in ("train", "dev", "test") for r in corpus.rows(s) if r["doc_id"] == seed]
    assert len({r["claim_id"] for r in rows}) >= 3


def test_every_document_has_metadata(stats):
    assert "(unknown)" not in stats["domain"]


def test_rule_baseline_is_weak_on_the_hard_slice_and_right_on_the_natural_one(corpus):
    df = corpus.frame("test")
    rule = CueRuleClassifier().fit(df, df["stance"])
    pred = rule.predict(df)
    hard = np.array(["hard" in t for t in df["tags"]])
    assert 0 < hard.sum() < len(df)
    assert scores(df["stance"][hard], pred[hard], corpus.labels)["macro_f1"] <= 0.35
    # `hard` is defined as "the rule gets it wrong", so the rule is right on every natural pair
    # (one documented exception, the seed's row -01: data/ANNOTATION.md section 5)
    wrong = set(df["id"][~hard & (pred != df["stance"].to_numpy())])
    assert wrong <= {"000_78bd94f09c977c23-01"}, sorted(wrong)[:5]


def test_blind_second_pass_covers_the_corpus_and_matches_its_labels(stats, corpus):
    # every pair has a second label, and every corpus label is the majority of the passes
    a = second_pass_agreement(stats["rows"], ROOT / "data" / "second_pass.jsonl", corpus.labels)
    assert (a["pairs"], a["not_covered"]) == (stats["pairs"], 0)
    assert a["kappa"] > 0.8
