"""The sentence splitter on hand-checked news cases (each read and split by a person), and the
token helpers the feature blocks share."""

import pytest
from conftest import ROOT

from training.text import expand_contractions, is_whole, raw_tokens, split_sentences, tokens

SEED = "seeds/000_78bd94f09c977c23.txt"

# (text, the sentences a careful reader splits it into)
CASES = [
    # from the seed article: "U.S." inside a sentence, a closing curly quote, the date stamp line
    ("The sources also add that in his view, Trump stressed U.S. capabilities within Europe’s military front lines. "
     "Peskov denied it.",
     ["The sources also add that in his view, Trump stressed U.S. capabilities within Europe’s military front lines.",
      "Peskov denied it."]),
    ("Peskov called it “purely false information.” The Post stood by its story.",
     ["Peskov called it “purely false information.”", "The Post stood by its story."]),
    (" date 2024-11-11 The Kremlin denies reports of a phone call between Putin and Trump.\n\n"
     "The Kremlin on Monday poured cold water over a media report.",
     ["date 2024-11-11", "The Kremlin denies reports of a phone call between Putin and Trump.",
      "The Kremlin on Monday poured cold water over a media report."]),
    ("Kremlin Denies Ukrainian Territory Held With Trump\nPeskov rejected claims that the subject was discussed.",
     ["Kremlin Denies Ukrainian Territory Held With Trump", "Peskov rejected claims that the subject was discussed."]),
    # titles and abbreviations
    ("Dr. Renata Osei told reporters the strain matched. Samples were taken on Tuesday.",
     ["Dr. Renata Osei told reporters the strain matched.", "Samples were taken on Tuesday."]),
    ("The parade on St. Patrick's Day was cancelled. Organisers blamed the wind.",
     ["The parade on St. Patrick's Day was cancelled.", "Organisers blamed the wind."]),
    ("The rule took effect on Jan. 5 after a vote. Critics objected.",
     ["The rule took effect on Jan. 5 after a vote.", "Critics objected."]),
    ("He lives at No. 10 and works nearby. Neighbours confirmed it.",
     ["He lives at No. 10 and works nearby.", "Neighbours confirmed it."]),
    ("Gen. Marta Ruiz and Sen. Paul Okoro attended. They left at noon.",
     ["Gen. Marta Ruiz and Sen. Paul Okoro attended.", "They left at noon."]),
    ("The U.S. Army said the drill was routine. The U.K. government agreed.",
     ["The U.S. Army said the drill was routine.", "The U.K. government agreed."]),
    ("Officials in Washington, D.C. said nothing. The embassy declined to comment.",
     ["Officials in Washington, D.C. said nothing.", "The embassy declined to comment."]),
    ("The firm, Acme Inc., denied the claim. Its rival, Bolt Ltd., did too.",
     ["The firm, Acme Inc., denied the claim.", "Its rival, Bolt Ltd., did too."]),
    # initials, decimals, money, times
    ("The report was written by J. R. Hartley and a colleague. It was published in May.",
     ["The report was written by J. R. Hartley and a colleague.", "It was published in May."]),
    ("Inflation rose 3.5 percent in March. Economists had expected 3.1.",
     ["Inflation rose 3.5 percent in March.", "Economists had expected 3.1."]),
    ("Shares fell 2.4% (to $31.50) on Monday. Analysts were surprised.",
     ["Shares fell 2.4% (to $31.50) on Monday.", "Analysts were surprised."]),
    ("The meeting starts at 7 p.m. on Friday. Tickets are free.",
     ["The meeting starts at 7 p.m. on Friday.", "Tickets are free."]),
    # quotes that end the sentence, questions, headlines without a full stop
    ('"There was no such call." Peskov said later that the report was false.',
     ['"There was no such call."', "Peskov said later that the report was false."]),
    ("Is the dam safe? Engineers say yes! Residents are not convinced.",
     ["Is the dam safe?", "Engineers say yes!", "Residents are not convinced."]),
    ("Mayor denies plan to close Eastside library\nThe council will vote on Tuesday. Residents are divided.",
     ["Mayor denies plan to close Eastside library", "The council will vote on Tuesday.", "Residents are divided."]),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[1][0][:30] for c in CASES])
def test_hand_checked_cases(text, expected):
    assert split_sentences(text) == expected


def test_seed_article_splits_as_read():
    pieces = split_sentences(open(SEED, encoding="utf-8").read())
    assert len(pieces) == 19  # the date stamp, two subheadings and 16 sentences
    assert pieces[:2] == ["date 2024-11-11", pieces[1]] and pieces[1].startswith("The Kremlin denies reports")
    assert any(p.startswith("The sources also add") and p.endswith("ready to back Kiev.") for p in pieces)
    assert "Zelensky’s Stand Against The Concessions" in pieces


def test_blank_and_single_line_text():
    assert split_sentences("") == [] and split_sentences("\n \n") == []
    assert split_sentences("One. Two? Three!\nFour") == ["One.", "Two?", "Three!", "Four"]


def test_is_whole_accepts_runs_and_refuses_cuts():
    pieces = ["A b.", "C d.", "E f."]
    assert is_whole("C d.", pieces) and is_whole("A b. C d.", pieces) and is_whole("A b. C d. E f.", pieces)
    assert not is_whole("A b. C", pieces) and not is_whole("b. C d.", pieces) and not is_whole("A b. E f.", pieces)


def test_tokens_fold_contractions():
    assert raw_tokens("It didn’t crack, NO.") == ["it", "didn't", "crack", "no"]
    # stance features read contractions as their negation (the corpus writes "did not")
    assert tokens("It didn’t crack, NO.") == ("it", "did", "not", "crack", "no")
    assert expand_contractions("can't, won't, isn’t, Shan't") == "can not, will not, is not, shall not"


ABBREVIATION_LINES = [
    "Gen. Lee met Dr. Smith at St. Mary's on Jan. 5 at 7 p.m. and left.",
    "The U.S. Army said no. Then it said yes, i.e. maybe, e.g. later.",
    "Prof. Ph.D. holders, Mr. and Mrs. Jones, Inc. and Co. all agreed. No. 10 said so.",
    "art. 5 applies; fig. 3 shows it. Vol. 2 is out.",
    "\u212a. Smith and \u017fome text. \u0130stanbul said no. Then yes.",  # letters IGNORECASE folds, lower() does not
    "A man. An apple. No one came. On Monday it rained.",
]


def test_quick_abbreviation_search_splits_as_pysbd_does():
    """text._segmenter skips abbreviations that cannot change the line; its pieces must be pysbd's
    own, on tricky lines and on every line of the bundled documents."""
    import pysbd

    from training.text import INNER_END, _segmenter
    ref = pysbd.Segmenter(language="en", clean=False)
    lines = ABBREVIATION_LINES + [line.strip() for doc in sorted((ROOT / "seeds").glob("*.txt"))
                                  for line in doc.read_text(encoding="utf-8").splitlines() if INNER_END.search(line)]
    assert len(lines) > 1000
    for line in lines:
        assert _segmenter().processor(line).process() == ref.processor(line).process(), line
