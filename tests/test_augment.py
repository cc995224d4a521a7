import numpy as np
import pandas as pd
import pytest

from training import augment
from training.config import from_dict
from training.pipeline import stance_training_pairs, train_weights

CLAIM = "Putin and Trump spoke by phone last week"


def frame(rows):
    return pd.DataFrame([{"id": str(i), "group": "d", "claim": CLAIM, "sentence": s, "stance": y, "tags": t}
                         for i, (s, y, t) in enumerate(rows)])


TRAIN = frame([
    ("The Kremlin on Monday dismissed a media report that the two leaders spoke.", "deny", []),
    ("Peskov rejected the claims outright.", "deny", ["hard"]),
    ("There was no such call, Peskov said.", "deny", []),               # no dismissal of a report: not copied
    ("The Post confirmed a report that they spoke.", "assert", []),    # not a denial: not copied
    ("Officials denied that the meeting was cancelled.", "deny", []),  # no report-like noun: not copied
])


def test_each_matching_denial_is_copied_once_per_idiom_at_a_shared_unit_of_weight():
    copies = augment.dismissal_copies(TRAIN)
    n = len(augment.IDIOMS)
    assert len(copies) == 2 * n and set(copies["stance"]) == {"deny"}
    first = copies[copies["id"] == "0"]
    assert list(first["sentence"]) == [f"The Kremlin on Monday {i} a media report that the two leaders spoke."
                                       for i in augment.IDIOMS]
    assert np.isclose(first[augment.WEIGHT].sum(), 1.0)
    assert all(augment.TAG in t for t in copies["tags"])
    assert ["hard", augment.TAG] in list(copies[copies["id"] == "1"]["tags"])  # tags kept: still a hard pair
    assert list(TRAIN["tags"].iloc[1]) == ["hard"]  # the input is not modified


def test_no_match_gives_an_empty_frame_with_the_columns():
    copies = augment.dismissal_copies(TRAIN.iloc[2:])
    assert copies.empty and augment.WEIGHT in copies.columns


def test_training_pairs_and_weights_with_and_without_the_option():
    on = from_dict({"data": {"dismissal_idioms": True, "train_skip_tags": ["completion"]}})
    off = from_dict({})
    log = []
    out = stance_training_pairs(on, TRAIN, log.append)
    assert len(out) == len(TRAIN) + 2 * len(augment.IDIOMS) and "12 dismissal idioms" in log[0]
    w, n = train_weights(on, out), len(augment.IDIOMS)
    deny = (out["stance"] == "deny").to_numpy()
    # a pair's copies together weigh what the pair does: each matching denial counts twice, not 13 times
    assert np.isclose(w[len(TRAIN):len(TRAIN) + n].sum(), w[0])
    # each class weighs as many rows as it has, so a model that balances classes by rows keeps the
    # corpus's balance (the copies are 24 rows but 2 pairs' weight: without this deny would halve)
    assert np.isclose(w[deny].sum(), deny.sum()) and np.isclose(w[~deny].sum(), (~deny).sum())
    assert np.isclose(w[0] / w[3], deny.sum() / 6)  # a deny original against an assert: 28 rows weigh 6 pairs
    assert stance_training_pairs(off, TRAIN, log.append) is TRAIN and train_weights(off, TRAIN) is None
    hard = from_dict({"data": {"dismissal_idioms": True, "hard_weight": 3.0}})
    w = train_weights(hard, stance_training_pairs(hard, TRAIN, log.append))
    assert np.isclose(w[1], 3.0 * w[0]) and np.isclose(w[len(TRAIN) + n], 3.0 * w[0] / n)


@pytest.mark.parametrize("sentence", [
    "Moscow rejected any suggestion that a call took place.",
    "The ministry denied the rumours about a phone call.",
])
def test_report_like_nouns_within_six_words_match(sentence):
    assert len(augment.dismissal_copies(frame([(sentence, "deny", [])]))) == len(augment.IDIOMS)


def test_originals_marks_the_rows_that_are_not_copies():
    out = augment.with_dismissal_idioms(TRAIN, lambda m: None)
    keep = augment.originals(out)
    assert keep.sum() == len(TRAIN) and keep[: len(TRAIN)].all()
    assert augment.originals(TRAIN.drop(columns="tags")).all()
