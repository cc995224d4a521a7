"""Stance frames: small, topic-free signals of how a sentence treats a claim.

Bag-of-words features learn whatever separates the labels in the corpus, topic words
included. These columns carry only meaning that transfers to any story:
- the cue-word rule's own decision (one-hot), so the model can learn when to trust it;
- negation and where it points: near the claim's words, in advice ("told not to"), in a
  double negative that affirms ("nobody disputes", "left no doubt");
- frames: dismissing a report ("poured cold water on the report"), confirming, retracting,
  attributing, forecasting;
- mismatches between claim and sentence: numbers the claim does not have, "only"/"some"
  against the claim's "all"/"doubled";
- the shape of the sentence: a question, a headline without end punctuation, quotes.
All columns are non-negative.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from training.features.base import RULE_DENY, RULE_WARN, _pairs, text_cache
from training.text import expand_contractions, tokens

NEGATION = frozenset("no not never none nobody nothing neither nor without cannot nowhere".split())
DOUBT = re.compile(r"^(?:doubt\w*|disput\w*|den(?:y|ies|ied|ial)|question\w*|contest\w*|challeng\w*|argu\w*|mistak\w*)$")
DIRECTIVE = re.compile(r"^(?:told|tell|asked|ask|urg\w*|advis\w*|warn\w*|order\w*|instruct\w*|encourag\w*|remind\w*|"
                       r"caution\w*|call\w*|appeal\w*|beg\w*|implor\w*)$")
DISMISS = re.compile(r"^(?:dismiss\w*|reject\w*|den(?:y|ies|ied)|refut\w*|debunk\w*|rebut\w*|scotch\w*|quash\w*|"
                     r"downplay\w*|dispel\w*|discredit\w*|contradict\w*|disput\w*|slam\w*|brand\w*|labell?ed|"
                     r"called|ridicul\w*|mock\w*|ruled|played|shot|brushed|laughed|poured|knocked|cast)$")
REPORT = re.compile(r"^(?:reports?|claims?|rumou?rs?|suggestions?|speculation|allegations?|story|stories|accounts?|"
                    r"suggesting|claiming|alleging|idea|notion|theory|theories|post|posts|video|clip|photo|image)$")
CONFIRM = re.compile(r"^(?:confirm\w*|verif\w*|admit\w*|acknowledg\w*|conced\w*|corroborat\w*|announc\w*|reveal\w*|"
                     r"show\w*|prov\w*|establish\w*|found|finds)$")
RETRACT = re.compile(r"^(?:retract\w*|withdr[ae]w\w*|correct\w*|apologi\w*|walked|backtrack\w*|u-turn|reversed)$")
ATTRIBUTE = re.compile(r"^(?:said|says|say|told|according|reported|reports|claimed|stated|wrote|tweeted|posted|"
                       r"announced|insisted|added|explained)$")
FORECAST = re.compile(r"^(?:will|expected|expects|forecast\w*|predict\w*|likely|set|due|poised|plans?|planned)$")
LIMIT = frozenset("only just merely solely some few partly partially limited single handful fewer less".split())
UNIVERSAL = re.compile(r"^(?:all|every|everyone|entire|whole|total\w*|complete\w*|doubl\w*|tripl\w*|never|always|"
                       r"none|any|banned|ban|universal\w*|most|majority)$")
MODAL = frozenset("could may might would can".split())
HARM = re.compile(r"^(?:danger\w*|risk\w*|threat\w*|harm\w*|hazard\w*|unsafe|deadly|fatal\w*|injur\w*|damag\w*|"
                  r"disrupt\w*|shortage\w*|outbreak\w*|spread\w*|collaps\w*|flood\w*|fire\w*|loss\w*|lose|"
                  r"contamina\w*|toxic\w*|poison\w*|infect\w*|sick\w*|ill|illness\w*|death\w*|die|kill\w*|"
                  r"crisis|emergenc\w*|disaster\w*|catastroph\w*|severe|worse\w*|prosecut\w*|fine[sd]?|penalt\w*)$")
PROTECT = re.compile(r"^(?:evacuat\w*|shelter\w*|sandbag\w*|stockpil\w*|closed|clos\w*|shut\w*|suspend\w*|"
                     r"cancel\w*|postpon\w*|quarantin\w*|isolat\w*|vaccinat\w*|test\w*|screen\w*|boil\w*|"
                     r"avoid\w*|stay\w*|keep|kept|check\w*|prepar\w*|protect\w*|guard\w*|patrol\w*|monitor\w*|"
                     r"precaution\w*|alert\w*|curfew\w*|barrier\w*|restrict\w*|ban\w*|recall\w*|handed|"
                     r"distribut\w*)$")
# "there was no such call", "no evidence that", "never happened", "not true": denial of the
# event itself, whether or not the sentence repeats the claim's words
EXISTENTIAL = re.compile(r"\b(?:no|never|nothing|not)\s+(?:such|evidence|record|records|truth|proof|sign|basis|"
                         r"indication|trace|foundation|substance|merit|happened|true|the case|of the sort)\b"
                         r"|\b(?:did|does|has|had|was|is|were) (?:not|never) (?:happen|happened|take place|taken place|occur|"
                         r"occurred|exist|existed)\b")
DIGIT = re.compile(r"\d")
STOP = frozenset("""a an the of to in on at for and or but by with from as is are was were be been being it its this that
    these those he she they we you i his her their our your them him us me there here which who whom what when where
    how than then so if into about over after before during s has have had do does did will would""".split())

def _stem(t: str) -> str:
    for suf in ("ings", "ing", "ed", "es", "s"):
        if t.endswith(suf) and len(t) - len(suf) >= 3:
            return t[: -len(suf)]
    return t


# Token classes, tested once per distinct token (the vocabulary is small, the pairs many).
_CLASSES = {"doubt": DOUBT, "directive": DIRECTIVE, "dismiss": DISMISS, "report": REPORT, "confirm": CONFIRM,
            "retract": RETRACT, "attribute": ATTRIBUTE, "forecast": FORECAST, "harm": HARM, "protect": PROTECT,
            "universal": UNIVERSAL}


@functools.lru_cache(maxsize=200_000)
def _classes(t: str) -> frozenset:
    out = {name for name, rx in _CLASSES.items() if rx.match(t)}
    if t in NEGATION or t.endswith("n't"):
        out.add("negation")
    if t in LIMIT:
        out.add("limit")
    if t in MODAL:
        out.add("modal")
    if DIGIT.search(t):
        out.add("number")
    return frozenset(out)


def negated_claim(st, cstems) -> bool:
    """A negation whose next few words restate the claim ("did not poop on Putin", "is not
    a ceasefire", "were never arrested"), with no doubt word or "to" (advice) in between."""
    for i, t in enumerate(st):
        if "negation" in _classes(t):
            for j in range(i + 1, min(len(st), i + 5)):
                if "doubt" in _classes(st[j]) or st[j] in ("to", "one", "only", "just"):
                    break
                if st[j] not in STOP and _stem(st[j]) in cstems:
                    return True
    return False


COLUMNS = ("rule_warn", "rule_deny", "rule_assert", "negation", "negation_near_claim", "double_negative",
           "advice_negation", "not_to", "dismissed_report", "confirm_near_claim", "retraction", "attribution",
           "forecast", "number_mismatch", "numbers_shared", "limit_vs_universal", "question", "headline",
           "quote", "claim_overlap_high", "negation_no_attribution", "negated_claim",
           "modal_without_harm", "existential_denial", "harm", "protective_action", "question_about_claim")


def _near(positions, others, window: int) -> bool:
    return any(abs(i - j) <= window for i in positions for j in others)


def _at(classes, name) -> list[int]:
    return [i for i, c in enumerate(classes) if name in c]


def sentence_part(sentence: str) -> tuple:
    """What a sentence says whatever the claim: its tokens, where negation and confirmation
    stand, and the claim-free columns."""
    st = tokens(sentence)
    cl = [_classes(t) for t in st]
    neg, doubts, directives = _at(cl, "negation"), _at(cl, "doubt"), _at(cl, "directive")
    not_to = [i for i in range(len(st) - 1) if st[i] in ("not", "never") and st[i + 1] == "to"]
    to_avoid = [i for i in range(len(st) - 1) if st[i] == "to" and st[i + 1] == "avoid"]
    has = set().union(*cl) if cl else set()
    # the rule's decision as the model reads the sentence: "won't" counts as "will not" (the rule
    # baseline itself stays fixed; the corpus has almost no contractions, real news many)
    expanded = expand_contractions(sentence)
    rule = "warn" if RULE_WARN.search(expanded) else "deny" if RULE_DENY.search(expanded) else "assert"
    text = sentence.strip()
    fixed = {
        "rule_warn": rule == "warn", "rule_deny": rule == "deny", "rule_assert": rule == "assert",
        "negation": bool(neg),
        "double_negative": any(0 < j - i <= 8 for i in neg for j in doubts),
        "advice_negation": any(0 < j - i <= 5 for i in directives for j in not_to + to_avoid),
        "not_to": bool(not_to),
        "dismissed_report": any(0 < j - i <= 8 for i in _at(cl, "dismiss") for j in _at(cl, "report")),
        "retraction": "retract" in has, "attribution": "attribute" in has, "forecast": "forecast" in has,
        "question": text.endswith("?"),
        "headline": not text.endswith((".", "!", "?", '"', "\u201d", "'", "\u2019", ")")),
        "quote": any(q in sentence for q in ('"', "\u201c", "\u201d")),
        "negation_no_attribution": bool(neg) and "attribute" not in has,
        "modal_without_harm": "modal" in has and "harm" not in has,
        "existential_denial": bool(EXISTENTIAL.search(" ".join(st))),
        "harm": "harm" in has, "protective_action": "protect" in has,
    }
    numbers = {t for t, c in zip(st, cl) if "number" in c}
    return st, set(st), neg, _at(cl, "confirm"), numbers, "limit" in has, [fixed.get(c, False) for c in COLUMNS]


_PAIR_COLUMNS = ("negation_near_claim", "confirm_near_claim", "number_mismatch", "numbers_shared",
                 "limit_vs_universal", "claim_overlap_high", "negated_claim", "question_about_claim")


def frame_row(claim: str, sentence: str, part: tuple | None = None, claim_part: tuple | None = None) -> list[float]:
    """One row of COLUMNS for a (claim, sentence) pair (parts may come from a cache)."""
    st, sset, neg, confirms, sn, limited, fixed = part or sentence_part(sentence)
    cw, cstems, cn, universal = claim_part or claim_words(claim)
    at_claim = [i for i, t in enumerate(st) if t in cw]
    overlap = len(cw & sset) / max(len(cw), 1)
    row = list(fixed)  # the claim-free columns, in COLUMNS order; the pair columns filled in below
    pair = (_near(neg, at_claim, 4), _near(confirms, at_claim, 6), bool(cn) and bool(sn) and not (cn & sn),
            bool(cn & sn), universal and limited, overlap >= 0.5, negated_claim(st, cstems),
            row[_QUESTION] and overlap >= 0.3)
    for j, v in zip(_PAIR_INDEX, pair):
        row[j] = v
    return row


_PAIR_INDEX = [COLUMNS.index(c) for c in _PAIR_COLUMNS]
_QUESTION = COLUMNS.index("question")


def claim_words(claim: str) -> tuple:
    ct = tokens(claim)
    cw = {t for t in ct if t not in STOP}
    return cw, {_stem(t) for t in cw}, {t for t in ct if DIGIT.search(t)}, any("universal" in _classes(t) for t in ct)


class StanceFrames(BaseEstimator, TransformerMixin):
    """The COLUMNS above for each (claim, sentence) pair; stateless."""

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True  # stateless

    def transform(self, X):
        claims, sentences = _pairs(X)
        parts, claim_parts = text_cache(self), {}  # parts: across calls while batch scoring
        rows = []
        for c, s in zip(claims, sentences):
            part = parts.get(s)
            if part is None:
                part = parts[s] = sentence_part(s)
            cp = claim_parts.get(c)
            if cp is None:
                cp = claim_parts[c] = claim_words(c)
            rows.append(frame_row(c, s, part, cp))
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(COLUMNS))

    def get_feature_names_out(self, input_features=None):
        return np.array([f"frame_{c}" for c in COLUMNS], dtype=object)
