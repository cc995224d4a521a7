"""How much a sentence is about a claim: overlap, TF-IDF cosine, shared numbers, length."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from training.features.base import NUMBER, _content, _pairs, _unique, text_cache, transform_distinct
from training.text import split_sentences, tokens


class PairSimilarity(BaseEstimator, TransformerMixin):
    """How much the sentence is about the claim: token overlap, TF-IDF cosine, shared
    numbers, lengths; optionally the best cosine against the text's first sentences and an
    LSA cosine. All values are non-negative (ComplementNB and chi2 need that)."""

    BASE_COLUMNS = 8  # 7 overlap/number/length columns + the TF-IDF cosine

    def __init__(self, lead_sentences=0, svd_components=0, random_state=0):
        self.lead_sentences = lead_sentences
        self.svd_components = svd_components
        self.random_state = random_state

    def fit(self, X, y=None):
        claims, sentences = _pairs(X)
        uniq, _ = _unique(claims + sentences)
        self.tfidf_ = TfidfVectorizer(sublinear_tf=True, token_pattern=r"[a-z0-9]+", lowercase=True).fit(uniq)
        self.svd_ = None
        if self.svd_components:
            from sklearn.decomposition import TruncatedSVD
            k = min(self.svd_components, len(self.tfidf_.vocabulary_) - 1)
            self.svd_ = TruncatedSVD(k, random_state=self.random_state).fit(self.tfidf_.transform(uniq))
        return self

    def _cos(self, claims, texts):
        (uc, ic), (ut, it) = _unique(claims), _unique(texts)  # vectorize each distinct text once
        a = transform_distinct(self.tfidf_, uc, self.tfidf_.transform)[ic]
        b = transform_distinct(self.tfidf_, ut, self.tfidf_.transform)[it]
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()

    def transform(self, X):
        claims, sentences = _pairs(X)
        info = text_cache(self)  # per distinct text: content words, bigrams, numbers, length (claims repeat a lot)

        def describe(text):
            d = info.get(text)
            if d is None:
                t = tokens(text)
                content = _content(t)
                d = info[text] = (content, set(zip(t, t[1:])), {w for w in content if NUMBER.match(w)}, len(t))
            return d

        rows = []
        for c, s in zip(claims, sentences):
            cs, cb, cn, _ = describe(c)
            ss, sb, sn, slen = describe(s)
            inter = len(cs & ss)
            rows.append((inter / max(len(cs | ss), 1), inter / max(len(cs), 1), inter / max(len(ss), 1),
                         len(cb & sb) / max(len(cb), 1), len(cn & sn), len(sn - cn), slen))
        base = np.asarray(rows, dtype=np.float64).reshape(len(rows), 7)
        base[:, 4:7] = np.log1p(base[:, 4:7])
        base[:, 6] /= 5.0
        feats = [base, self._cos(claims, sentences)[:, None]]
        if self.lead_sentences:
            best = np.zeros(len(claims))
            leads = {}
            for s in sentences:
                if s not in leads:
                    leads[s] = split_sentences(s)[: self.lead_sentences]
            flat, owner = [], []
            for i, s in enumerate(sentences):
                for part in leads[s]:
                    flat.append(part)
                    owner.append(i)
            if flat:
                cos = self._cos([claims[i] for i in owner], flat)
                np.maximum.at(best, np.asarray(owner), cos)
            feats.append(best[:, None])
        if self.svd_ is not None:
            a = self.svd_.transform(self.tfidf_.transform(claims))
            b = self.svd_.transform(self.tfidf_.transform(sentences))
            num = (a * b).sum(axis=1)
            den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-9
            feats.append(np.clip(num / den, 0, None)[:, None])
        return np.hstack(feats)
