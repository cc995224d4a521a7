"""Stance frames: each signal fires on the sentence it describes (hand-checked cases), and
dense_width counts the dense columns build_features really puts at the end."""

import numpy as np
import pandas as pd
import pytest

from training.config import from_dict
from training.features import build_features, dense_width
from training.features.frames import COLUMNS, StanceFrames, frame_row


def on(claim, sentence):
    return {c for c, v in zip(COLUMNS, frame_row(claim, sentence)) if v}


@pytest.mark.parametrize("claim, sentence, expected", [
    ("Christian Bale will play Steve Jobs", "Christian Bale won't play Steve Jobs", {"negated_claim", "negation_near_claim"}),
    ("A bird pooped on Putin", "No, a bird did not poop on Putin.", {"negated_claim"}),
    ("Putin and Trump spoke by phone", "Peskov said there was no such call.", {"existential_denial", "rule_deny"}),
    ("The tower seeded the outbreak", "Not one member of the team now doubts that the tower seeded the cluster.",
     {"double_negative"}),
    ("Tap water contains lead", "Residents were told not to drink water from hot taps.", {"advice_negation", "not_to"}),
    ("Putin and Trump spoke by phone", "The Kremlin poured cold water over a media report suggesting they spoke.",
     {"dismissed_report"}),
    ("Rice prices doubled to 80 cents", "Officials put the price at 52 cents.", {"number_mismatch"}),
    ("All pork exports were banned", "The bans apply only to pork from one district.", {"limit_vs_universal"}),
])
def test_frames_fire_where_they_should(claim, sentence, expected):
    assert expected <= on(claim, sentence)


@pytest.mark.parametrize("claim, sentence, absent", [
    ("The tower seeded the outbreak", "Not one member of the team now doubts that the tower seeded the cluster.",
     "negated_claim"),  # a double negative affirms
    ("Tap water contains lead", "Residents were told not to drink water from hot taps.", "negated_claim"),
    ("Putin and Trump spoke by phone", "Putin and Trump spoke by phone last week, the paper reported.", "negation"),
])
def test_frames_stay_off_where_they_should(claim, sentence, absent):
    assert absent not in on(claim, sentence)


def test_rule_columns_are_one_hot_and_transform_is_stateless():
    X = pd.DataFrame({"claim": ["c"] * 3, "sentence": ["Experts warned of floods.", "He denied it.", "It rained."]})
    m = StanceFrames().fit_transform(X)
    assert m.shape == (3, len(COLUMNS)) and (m >= 0).all()
    rule = m[:, [COLUMNS.index(c) for c in ("rule_warn", "rule_deny", "rule_assert")]]
    assert (rule == np.eye(3)).all()


@pytest.mark.parametrize("features", [{}, {"frames": {"enabled": True}},
                                      {"frames": {"enabled": True}, "similarity": {"lead_sentences": 2}},
                                      {"lexicon": {"enabled": False}, "frames": {"enabled": True}}])
def test_dense_width_matches_the_feature_matrix(features):
    cfg = from_dict({"features": features})
    X = pd.DataFrame({"claim": ["The dam burst", "The dam burst"],
                      "sentence": ["Engineers said the dam did not burst.", "The dam burst at dawn."]})
    f = build_features(cfg)
    m = f.fit_transform(X, ["deny", "assert"])
    idx = f.output_indices_
    dense = sum(idx[b].stop - idx[b].start for b in ("similarity", "lexicon", "frames") if b in idx)
    assert dense_width(cfg) == dense
    assert max(s.stop for s in idx.values()) == m.shape[1]  # the dense blocks are the last columns
    assert all(idx[b].start >= idx["masked"].stop for b in ("similarity", "lexicon", "frames") if b in idx)
