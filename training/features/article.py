"""Headline against a whole article body (FNC-1): relatedness and how the body treats it."""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from training.features.base import _pairs, _unique
from training.text import raw_tokens


# --- long texts: headline vs article body (FNC-1) -------------------------------------------
# Ported from a recipe measured on a story-disjoint FNC-1 dev split (see README). Lexicons
# are the recipe's, minus 20 words it added after looking at dev errors.
ARTICLE_REFUTE = sorted(set("""fake fraud hoax false deny denies denied denial not despite nope doubt doubts bogus
    debunk debunked debunks prank pranks retract retracted untrue myth fabricated satire satirical misleading refute
    refuted rejects rejected dismissed dismisses no never isn't wasn't didn't hasn't rumors baseless incorrect wrong
    hoaxes fictional parody contrary unfounded""".split()))
ARTICLE_HEDGE = sorted(set("""allegedly reportedly claim claims claimed according apparently rumor rumour rumored
    unconfirmed unverified purportedly supposedly may might could possibly report reports reported alleged suggest
    suggests appears appear seems believed sources source speculation unclear if whether purported suspected likely
    perhaps possible would""".split()))
ARTICLE_STOP = sorted(set("""a an the of to in on for and or is are was were be been being by with at from as that this it
    its his her their he she they we you i has have had will would not no but if than then so do does did said says say
    after over into about up out new""".split()))
_NUM = re.compile(r"\d+(?:[.,]\d+)?")
_REPORTING = re.compile(r"\b(said|says|told|according|reported|reports|claims?|claimed)\b")


def _article_sentences(text: str) -> list[str]:
    parts = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.strip()) > 2]
    return parts or [text]


def _rowcos(A, B, ia, ib, chunk=4000):
    """Cosine of row ia[k] of A with row ib[k] of B, for every k (rows are L2-normalised)."""
    out = np.zeros(len(ia))
    for s in range(0, len(ia), chunk):
        out[s:s + chunk] = np.asarray(A[ia[s:s + chunk]].multiply(B[ib[s:s + chunk]]).sum(axis=1)).ravel()
    return out


class ArticleFeatures(BaseEstimator, TransformerMixin):
    """How an article body relates to a headline. The first `N_RELATEDNESS` columns say how
    related they are: word/bigram/char TF-IDF cosines, token and bigram overlap, BM25, and
    sentence-level cosines. The rest say how the body treats the headline: refuting and
    hedging words in the body, the headline, the 3 sentences closest to the headline and the
    first 3 sentences; shared numbers; quote, question and reporting rates.
    IDF, BM25 statistics and vocabularies come from the distinct training texts only."""

    N_RELATEDNESS = 28
    N_FEATURES = 1 << 20

    def __init__(self, char_max_features=300000):
        self.char_max_features = char_max_features

    def _hashing(self, ngram_range, stop):
        from sklearn.feature_extraction.text import HashingVectorizer
        return HashingVectorizer(tokenizer=raw_tokens, token_pattern=None, lowercase=False, ngram_range=ngram_range,
                                 alternate_sign=False, norm=None, n_features=self.N_FEATURES, stop_words=stop)

    def fit(self, X, y=None):
        from sklearn.feature_extraction.text import CountVectorizer
        claims, texts = _pairs(X)
        heads, bodies = _unique(claims)[0], _unique(texts)[0]
        docs = heads + bodies
        self.idf_ = {}
        for name, (ngrams, stop) in {"w1": ((1, 1), ARTICLE_STOP), "w2": ((1, 2), None)}.items():
            df = np.bincount(self._hashing(ngrams, stop).transform(docs).indices, minlength=self.N_FEATURES)
            # words never seen in training get the highest idf: they are rare, not irrelevant
            self.idf_[name] = (np.log((len(docs) + 1) / (df + 1)) + 1).astype(np.float32)
        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2,
                                     max_features=self.char_max_features, dtype=np.float32).fit(docs)
        self.counts_ = CountVectorizer(tokenizer=raw_tokens, token_pattern=None, lowercase=False).fit(docs)
        bc = self.counts_.transform(bodies)
        dfb = np.asarray((bc > 0).sum(axis=0)).ravel()
        self.bm25_idf_ = np.log(1 + (len(bodies) - dfb + 0.5) / (dfb + 0.5))
        self.bm25_avgdl_ = float(np.asarray(bc.sum(axis=1)).mean())
        self.cue_vocab_ = sorted(set(ARTICLE_REFUTE + ARTICLE_HEDGE))
        return self

    def _tfidf(self, texts, name):
        from sklearn.preprocessing import normalize
        ngrams, stop = {"w1": ((1, 1), ARTICLE_STOP), "w2": ((1, 2), None)}[name]
        m = self._hashing(ngrams, stop).transform(texts).tocsr().astype(np.float32)
        m.data = 1 + np.log(m.data)
        return normalize(m.multiply(self.idf_[name][None, :]).tocsr())

    def transform(self, X):
        claims, texts = _pairs(X)
        heads, ph = _unique(claims)
        bodies, pb = _unique(texts)
        h1 = self._tfidf(heads, "w1")
        f, hset = self._overlap(heads, bodies, ph, pb, h1)
        f += self._bm25(heads, bodies, ph, pb)
        sents = [_article_sentences(t) for t in bodies]
        sf, top_text = self._closest_sentences(sents, h1, ph, pb)
        f += list(sf.T)
        hr, hg = self._refute.transform(heads).toarray(), self._hedge.transform(heads).toarray()
        f += [hr.sum(axis=1)[ph], hg.sum(axis=1)[ph], np.array(["?" in h for h in heads], float)[ph]]
        relatedness = np.column_stack(f)
        # per-word cue counts: body (per sentence), headline, closest 3 sentences, first 3 sentences
        nsent = np.array([len(s) for s in sents], float)
        br, bg = self._refute.transform(bodies).toarray(), self._hedge.transform(bodies).toarray()
        words = np.hstack([br[pb] / nsent[pb, None], bg[pb] / nsent[pb, None], hr[ph], hg[ph]])
        cues = self._vocab(self.cue_vocab_)
        top_cues = cues.transform(top_text).toarray()
        ex = self._extras(heads, bodies, ph, pb, hset, top_text, nsent)
        lead = cues.transform([" ".join(s[:3]) for s in sents]).toarray()[pb]
        return np.hstack([relatedness, words, top_cues, ex, lead])

    @staticmethod
    def _vocab(vocabulary):
        from sklearn.feature_extraction.text import CountVectorizer
        return CountVectorizer(tokenizer=raw_tokens, token_pattern=None, lowercase=False, vocabulary=vocabulary)

    @property
    def _refute(self):
        return self._vocab(ARTICLE_REFUTE)

    @property
    def _hedge(self):
        return self._vocab(ARTICLE_HEDGE)

    def _overlap(self, heads, bodies, ph, pb, h1):
        """Word, bigram and char cosines; token and bigram overlap; lengths."""
        from sklearn.preprocessing import normalize
        b1 = self._tfidf(bodies, "w1")
        h2, b2 = self._tfidf(heads, "w2"), self._tfidf(bodies, "w2")
        hc, bc = normalize(self.char_.transform(heads)), normalize(self.char_.transform(bodies))
        f = [_rowcos(h1, b1, ph, pb), _rowcos(h2, b2, ph, pb), _rowcos(hc, bc, ph, pb)]
        ht = [raw_tokens(h) for h in heads]
        bt = [raw_tokens(b) for b in bodies]
        stop = set(ARTICLE_STOP)
        hset, bset, blead = [set(t) - stop for t in ht], [set(t) for t in bt], [set(t[:60]) for t in bt]
        hbig, bbig = [set(zip(t, t[1:])) for t in ht], [set(zip(t, t[1:])) for t in bt]
        ov = np.zeros((len(ph), 6))
        for k, (i, j) in enumerate(zip(ph, pb)):
            hs, m = hset[i], max(len(hset[i]), 1)
            inter = len(hs & bset[j])
            ov[k] = (inter / m, inter / (len(hs | bset[j]) + 1), len(hs & blead[j]) / m,
                     len(hbig[i] & bbig[j]) / max(len(hbig[i]), 1), len(hs), np.log1p(len(bt[j])))
        return f + list(ov.T), hset

    def _bm25(self, heads, bodies, ph, pb):
        """BM25 of the headline's words in the body, raw and normalised by the headline's idf."""
        body_counts = self.counts_.transform(bodies)
        cnt = body_counts.tocoo()
        dl = np.asarray(body_counts.sum(axis=1)).ravel()
        k1, b = 1.2, 0.75
        val = cnt.data * (k1 + 1) / (cnt.data + k1 * (1 - b + b * dl[cnt.row] / self.bm25_avgdl_))
        bm = sp.csr_matrix((val, (cnt.row, cnt.col)), shape=cnt.shape).multiply(self.bm25_idf_[None, :]).tocsr()
        hbin = (self.counts_.transform(heads) > 0).astype(np.float64).tocsr()
        score = np.asarray(hbin[ph].multiply(bm[pb]).sum(axis=1)).ravel()
        hidf = np.asarray(hbin.multiply(self.bm25_idf_[None, :]).sum(axis=1)).ravel()[ph]
        return [score, score / (hidf + 1e-6) / (k1 + 1)]

    def _closest_sentences(self, sents, h1, ph, pb):
        """The body's sentences closest to the headline, and refuting/hedging words in them."""
        refute, hedge = self._refute, self._hedge
        n = len(ph)
        sf = np.zeros((n, 14))
        top_text = [""] * n
        by_body = {}
        for k, j in enumerate(pb):
            by_body.setdefault(j, []).append(k)
        for j, ks in by_body.items():
            S = sents[j]
            R = np.asarray(refute.transform(S).sum(axis=1)).ravel()
            G = np.asarray(hedge.transform(S).sum(axis=1)).ravel()
            sim = (h1[ph[ks]] @ self._tfidf(S, "w1").T).toarray()
            order = np.argsort(-sim, axis=1, kind="stable")
            ns = len(S)
            for r, k in enumerate(ks):
                sm, t3 = sim[r], order[r, :3]
                close = sm > 0.1
                sf[k] = (sm.max(), sm[t3].mean(), sm[0], sm[:3].max(), order[r, 0] / max(ns, 1), close.mean(),
                         R[t3].sum(), G[t3].sum(), R[close].sum(), G[close].sum(), R[:3].sum(), G[:3].sum(),
                         R.sum() / ns, G.sum() / ns)
                top_text[k] = " ".join(S[q] for q in sorted(t3))
        return sf, top_text

    @staticmethod
    def _extras(heads, bodies, ph, pb, hset, top_text, nsent):
        """Shared numbers, and quote, question and reporting rates."""
        hn, bn = [set(_NUM.findall(h)) for h in heads], [set(_NUM.findall(b)) for b in bodies]
        ex = np.zeros((len(ph), 8))
        for k in range(len(ph)):
            hs = hset[ph[k]]
            ex[k, 0] = len(hs & set(raw_tokens(top_text[k]))) / max(len(hs), 1)
            ex[k, 1] = len(hn[ph[k]] & bn[pb[k]]) / max(len(hn[ph[k]]), 1)
            ex[k, 2] = len(hn[ph[k]])
        quotes = np.array([b.count('"') + b.count("\u201c") for b in bodies]) / nsent
        questions = np.array([b.count("?") for b in bodies], float)
        reporting = np.array([len(_REPORTING.findall(b.lower())) for b in bodies]) / nsent
        ex[:, 3], ex[:, 4], ex[:, 5] = quotes[pb], questions[pb], reporting[pb]
        ex[:, 6] = [t.count('"') + t.count("\u201c") for t in top_text]
        ex[:, 7] = [t.count("?") for t in top_text]
        return ex
