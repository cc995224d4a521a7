"""Cue lexicons: counts of refutation, caution, attribution, negation, hedging, support,
limiting and contrast words, overall and near the claim's words."""

from __future__ import annotations

import functools

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from training.features.base import _content, _pairs, text_cache
from training.text import tokens

# Project cue lexicons (features, not rules: the model learns how much each one counts and
# how it interacts with the claim). A trailing * is a prefix match.
LEXICONS = {
    "refutation": """deny denies denied denial* refut* rebut* dismiss* reject* false* fake fabricat* untrue hoax*
        baseless groundless unfounded debunk* disprov* inaccura* incorrect wrong* mislead* nonsense myth* rumor*
        rumour* retract* contradict* disput* invent* erroneous* mistaken misrepresent* distort* bogus lie lies lying
        fiction* spurious discredit* fictitious dispel* actually contrary cleared exonerat* acquit* elsewhere
        correction* corrected fabrication""",
    "caution": """warn* caution* urg* advis* risk* danger* threat* hazard* alert* fear* brace* prepar* evacuat*
        avoid* precaution* vigilan* beware safe safely safety guard* protect* shelter* sandbag* emergenc* vulnerab*
        concern* alarm* harm* expos* contamina* toxic* deadly lethal fatal* stockpil* curfew* lockdown* quarantin*
        flee* threaten* peril* jeopard* endanger* catastroph* devastat* worst urgent* should must""",
    "attribution": """said say says saying told tell tells report* according announc* stated statement* spokes*
        official* sources source claim* quoted quote* cited cite* wrote tweet* posted testif* interview* briefing*
        press""",
    "negation": "no not never none nobody nothing neither nor without cannot lack* absent* nowhere",
    "hedging": """may might could possibl* perhaps maybe likely unlikely reportedly allegedly alleged apparent*
        suggest* appear* seem* unclear unconfirmed unverified estimat* potential* probabl* speculat* uncertain*
        doubt*""",
    "support": """confirm* verif* prove* proof show shows showed shown establish* record* evidence document*
        admit* acknowledg* conced* corroborat* substantiat* indeed true accurate genuine authentic reveal* found
        finding* data figures""",
    # Evidence against a claim often works by limiting its scope ("just four", "a single male").
    "limiting": """only just single merely mere few handful fewer less least lower smaller partly partial some
        small slight minor isolated normal routine usual typical unchanged stable""",
    # ... or by setting another fact against it ("instead", "in fact", "elsewhere").
    "contrast": """but however instead rather although though whereas while yet despite nevertheless
        nonetheless fact actually elsewhere another different other unrelated separate""",
}


def _compile(spec: str):
    words, prefixes = set(), []
    for w in spec.split():
        (prefixes.append(w[:-1]) if w.endswith("*") else words.add(w))
    return words, tuple(prefixes)


_LEX = {g: _compile(s) for g, s in LEXICONS.items()}


@functools.lru_cache(maxsize=200_000)
def _groups_of(token: str) -> frozenset:
    """Which lexicon groups a token belongs to (cached: the vocabulary is small)."""
    out = {g for g, (words, prefixes) in _LEX.items() if token in words or token.startswith(prefixes)}
    if token.endswith("n't"):
        out.add("negation")
    return frozenset(out)


class CueLexicon(BaseEstimator, TransformerMixin):
    """Per lexicon group: log count in the sentence, log count within `window` tokens of a
    word shared with the claim, and whether the group occurs at all."""

    def __init__(self, groups=tuple(LEXICONS), window=6):
        self.groups = groups
        self.window = window

    def fit(self, X, y=None):
        unknown = set(self.groups) - set(LEXICONS)
        if unknown:
            raise ValueError(f"unknown lexicon group(s) {sorted(unknown)}; valid: {', '.join(LEXICONS)}")
        return self

    def transform(self, X):
        claims, sentences = _pairs(X)
        index = {g: k for k, g in enumerate(self.groups)}
        member = {}  # token -> indices of the configured groups it belongs to
        seen, claim_words = text_cache(self), {}  # seen: per distinct sentence; across calls while batch scoring
        w = self.window
        totals, closes = [], []
        for c, s in zip(claims, sentences):
            entry = seen.get(s)
            if entry is None:  # per distinct sentence: tokens, their groups, overall counts
                st = tokens(s)
                groups = []
                for t in st:
                    g = member.get(t)
                    if g is None:
                        g = member[t] = tuple(index[x] for x in _groups_of(t) if x in index)
                    groups.append(g)
                total = [0] * len(index)
                for g in groups:
                    for k in g:
                        total[k] += 1
                entry = seen[s] = (st, groups, total)
            st, groups, total = entry
            cw = claim_words.get(c)
            if cw is None:
                cw = claim_words[c] = _content(tokens(c))
            close = [0] * len(index)
            hits = [j for j, t in enumerate(st) if t in cw]
            if hits:
                near = [False] * len(st)
                for j in hits:
                    near[max(0, j - w): j + w + 1] = [True] * (min(len(st), j + w + 1) - max(0, j - w))
                for j, g in enumerate(groups):
                    if g and near[j]:
                        for k in g:
                            close[k] += 1
            totals.append(total)
            closes.append(close)
        t = np.asarray(totals, dtype=np.float64).reshape(len(claims), len(index))
        c = np.asarray(closes, dtype=np.float64).reshape(len(claims), len(index))
        out = np.empty((len(claims), 3 * len(index)))
        out[:, 0::3], out[:, 1::3], out[:, 2::3] = np.log1p(t), np.log1p(c), t > 0
        return out
