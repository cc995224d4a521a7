"""The sentence with the claim's words masked: n-grams of how it treats the claim, not its topic."""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin

from training.features.base import _content, _pairs
from training.text import tokens


class ClaimMasker(BaseEstimator, TransformerMixin):
    """The sentence with each word that also occurs in the claim replaced by `_c_`, so the
    n-grams that follow describe how the sentence treats the claim, whatever the topic."""

    def __init__(self, max_chars=None):
        self.max_chars = max_chars

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        claims, sentences = _pairs(X)
        out = []
        claim_words, sentence_tokens = {}, {}  # per distinct text: claims and sentences repeat
        for c, s in zip(claims, sentences):
            cw = claim_words.get(c)
            if cw is None:
                cw = claim_words[c] = _content(tokens(c))
            st = sentence_tokens.get(s)
            if st is None:
                st = sentence_tokens[s] = tokens(s[: self.max_chars] if self.max_chars else s)
            out.append(" ".join("_c_" if t in cw else t for t in st))
        return out
