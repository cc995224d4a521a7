"""Claim-aware features for (claim, sentence) pairs.

Everything here is importable without MLflow or datasets: the exported pipeline pickles
references to these classes, and `training.predict` loads them in plain Python.

Input to the feature step is a DataFrame with the text columns `claim` and `sentence`
(a pyfunc model gets a DataFrame; a bare vectorizer would iterate its column names).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from training.text import expand_contractions, raw_tokens, split_sentences, tokens

if TYPE_CHECKING:  # the predict path must not pay for yaml/config
    from training.config import Config, TfidfBlock

TEXT_COLUMNS = ["claim", "sentence"]

# The rule baseline's lexicon, exactly as the corpus issue fixes it (case-insensitive,
# whole words). The corpus is judged by how badly this rule does on it.
RULE_WARN = re.compile(r"\b(?:warn\w*|caution\w*|urg\w*|advis\w*|fear\w*|risk\w*|danger\w*|could|may|might|brace)\b", re.I)
RULE_DENY = re.compile(r"\b(?:den\w*|no|not|never|false|reject\w*|dismiss\w*|untrue|hoax|baseless|fiction|retract\w*|contrary|cleared)\b", re.I)

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

# Function words that carry no stance and no topic; deliberately NOT scikit-learn's English
# stop list, which removes stance cues (not, no, never, may, could, should).
STOP = frozenset("""a an the of to in on at for and or but by with from as is are was were be been being it its this
    that these those he she they we you i his her their our your them him us me there here which who whom what
    when where how than then so if into about over after before during s has have had do does did will would""".split())

NUMBER = re.compile(r"^\d[\d.,]*$")


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


def _pairs(X):
    """(claims, sentences) as lists of str, from a DataFrame or a 2-column array."""
    if hasattr(X, "iloc"):
        return X["claim"].tolist(), X["sentence"].tolist()
    X = np.asarray(X, dtype=object)
    return X[:, 0].tolist(), X[:, 1].tolist()


def _content(toks) -> set:
    return {t for t in toks if t not in STOP}


def lower_truncate(text: str, max_chars: int | None = None) -> str:
    text = expand_contractions(text).lower()
    return text[:max_chars] if max_chars else text


class DedupTfidf(TfidfVectorizer):
    """TfidfVectorizer that vectorizes each distinct text once (FNC-1 repeats every article
    body ~30 times) and counts document frequency over distinct texts."""

    def fit(self, raw_documents, y=None):
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents, y=None):
        uniq, inv = _unique(raw_documents)
        return super().fit_transform(uniq)[inv]

    def transform(self, raw_documents):
        uniq, inv = _unique(raw_documents)
        return super().transform(uniq)[inv]


def _unique(texts):
    index = {}
    inv = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64)
    return list(index), inv


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
        a, b = self.tfidf_.transform(uc)[ic], self.tfidf_.transform(ut)[it]
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()

    def transform(self, X):
        claims, sentences = _pairs(X)
        info = {}  # per distinct text: content words, bigrams, numbers, length (claims repeat a lot)

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
        seen, claim_words = {}, {}
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


class DenseTopK(BaseEstimator, TransformerMixin):
    """Keep the k columns with the highest chi2 score and return a dense array
    (HistGradientBoosting needs dense input; all our features are non-negative)."""

    def __init__(self, k=2000):
        self.k = k

    def fit(self, X, y):
        from sklearn.feature_selection import chi2
        scores, _ = chi2(X, y)
        scores = np.nan_to_num(scores, nan=0.0)
        self.columns_ = np.sort(np.argsort(-scores, kind="stable")[: self.k])
        return self

    def transform(self, X):
        X = X[:, self.columns_]
        return X.toarray() if sp.issparse(X) else np.asarray(X)


class _Scale(BaseEstimator, TransformerMixin):
    """Multiply a dense block by a constant: how loud it is beside the TF-IDF columns."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def fit(self, X, y=None):
        return self

    def __sklearn_is_fitted__(self):
        return True  # stateless

    def transform(self, X):
        return np.asarray(X) * self.factor


def _tfidf(block: TfidfBlock, analyzer: str) -> DedupTfidf:
    return DedupTfidf(
        analyzer=analyzer, ngram_range=tuple(block.ngram_range), min_df=block.min_df, max_df=block.max_df,
        max_features=block.max_features, sublinear_tf=block.sublinear_tf, dtype=np.float32,
        preprocessor=functools.partial(lower_truncate, max_chars=block.max_chars),
        token_pattern=r"(?u)\b\w+\b" if analyzer == "word" else None,  # keep one-letter words and "no"
    )


def build_features(cfg: Config) -> ColumnTransformer:
    f = cfg.features
    parts = []
    if f.word.enabled:
        parts.append(("word", _tfidf(f.word, "word"), "sentence"))
    if f.char.enabled:
        parts.append(("char", _tfidf(f.char, "char_wb"), "sentence"))
    if f.masked.enabled:
        parts.append(("masked", Pipeline([("mask", ClaimMasker(max_chars=f.masked.max_chars)),
                                          ("tfidf", _tfidf(f.masked, "word"))]), TEXT_COLUMNS))
    if f.claim.enabled:
        parts.append(("claim", _tfidf(f.claim, "word"), "claim"))
    if f.similarity.enabled:
        parts.append(("similarity", PairSimilarity(f.similarity.lead_sentences, f.similarity.svd_components,
                                                   random_state=cfg.seed), TEXT_COLUMNS))
    if f.lexicon.enabled:
        parts.append(("lexicon", CueLexicon(tuple(f.lexicon.groups), f.lexicon.window), TEXT_COLUMNS))
    if f.frames.enabled:
        from training.features.frames import StanceFrames
        parts.append(("frames", Pipeline([("frames", StanceFrames()), ("scale", _Scale(f.frames.scale))]), TEXT_COLUMNS))
    if f.article.enabled:  # first, so its relatedness columns lead (two_stage reads them by position)
        parts.insert(0, ("article", ArticleFeatures(f.article.char_max_features), TEXT_COLUMNS))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=1.0)


def dense_width(cfg: Config) -> int:
    """How many dense columns the similarity, lexicon and frames blocks put at the end of the
    feature matrix (build_features adds them last, in this order)."""
    from training.features.frames import COLUMNS
    f = cfg.features
    width = 0
    if f.similarity.enabled:
        width += PairSimilarity.BASE_COLUMNS + (f.similarity.lead_sentences > 0) + (f.similarity.svd_components > 0)
    if f.lexicon.enabled:
        width += 3 * len(f.lexicon.groups)
    if f.frames.enabled:
        width += len(COLUMNS)
    return width


def _cache_key(cfg: Config, corpus_hash: str, frames: dict) -> str:
    import hashlib
    import json
    from pathlib import Path

    import sklearn

    h = hashlib.sha256()
    h.update(corpus_hash.encode())
    h.update(json.dumps(cfg.to_dict()["features"], sort_keys=True).encode())
    h.update(f"{cfg.seed} {sklearn.__version__}".encode())
    for split in sorted(frames):  # the rows of each split, in order: a changed split is another matrix
        df = frames[split]
        rows = df["id"] if "id" in df else df["claim"] + "\t" + df["sentence"]
        h.update(f"{split}:".encode() + "\n".join(map(str, rows)).encode())
    here = Path(__file__).parent
    # any change to the feature code (every module of this package) or the tokenizer invalidates it
    for path in sorted(here.glob("*.py")) + [here.parent / "text.py"]:
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:24]


def fit_transform_splits(cfg: Config, corpus_hash: str, frames: dict, y_train, cache_dir=".cache/features", log=None):
    """Fit the feature step on frames['train'] and transform every split. With
    `features.cache`, reuse a stored result whose key (data + config + code) matches."""
    import time
    from pathlib import Path

    import joblib

    path = Path(cache_dir) / f"{cfg.name}-{_cache_key(cfg, corpus_hash, frames)}.joblib"
    if cfg.features.cache and path.is_file():
        if log:
            log(f"features: cache hit {path}")
        feats, mats = joblib.load(path)
        return feats, mats, True
    t = time.perf_counter()
    feats = build_features(cfg)
    mats = {"train": feats.fit_transform(frames["train"], y_train)}
    for split, df in frames.items():
        if split != "train":
            mats[split] = feats.transform(df) if len(df) else None
    if log:
        log(f"features: {mats['train'].shape[1]:,} columns in {time.perf_counter() - t:.1f}s")
    if cfg.features.cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        joblib.dump((feats, mats), tmp)
        tmp.rename(path)
    return feats, mats, False


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
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.preprocessing import normalize
        claims, texts = _pairs(X)
        heads, ph = _unique(claims)
        bodies, pb = _unique(texts)
        n = len(ph)
        h1, b1 = self._tfidf(heads, "w1"), self._tfidf(bodies, "w1")
        h2, b2 = self._tfidf(heads, "w2"), self._tfidf(bodies, "w2")
        hc, bc = normalize(self.char_.transform(heads)), normalize(self.char_.transform(bodies))
        f = [_rowcos(h1, b1, ph, pb), _rowcos(h2, b2, ph, pb), _rowcos(hc, bc, ph, pb)]
        # token overlap
        ht = [raw_tokens(h) for h in heads]
        bt = [raw_tokens(b) for b in bodies]
        stop = set(ARTICLE_STOP)
        hset, bset, blead = [set(t) - stop for t in ht], [set(t) for t in bt], [set(t[:60]) for t in bt]
        hbig, bbig = [set(zip(t, t[1:])) for t in ht], [set(zip(t, t[1:])) for t in bt]
        ov = np.zeros((n, 6))
        for k, (i, j) in enumerate(zip(ph, pb)):
            hs, m = hset[i], max(len(hset[i]), 1)
            inter = len(hs & bset[j])
            ov[k] = (inter / m, inter / (len(hs | bset[j]) + 1), len(hs & blead[j]) / m,
                     len(hbig[i] & bbig[j]) / max(len(hbig[i]), 1), len(hs), np.log1p(len(bt[j])))
        f += list(ov.T)
        # BM25 of the headline's words in the body
        body_counts = self.counts_.transform(bodies)
        cnt = body_counts.tocoo()
        dl = np.asarray(body_counts.sum(axis=1)).ravel()
        k1, b = 1.2, 0.75
        val = cnt.data * (k1 + 1) / (cnt.data + k1 * (1 - b + b * dl[cnt.row] / self.bm25_avgdl_))
        bm = sp.csr_matrix((val, (cnt.row, cnt.col)), shape=cnt.shape).multiply(self.bm25_idf_[None, :]).tocsr()
        hbin = (self.counts_.transform(heads) > 0).astype(np.float64).tocsr()
        score = np.asarray(hbin[ph].multiply(bm[pb]).sum(axis=1)).ravel()
        hidf = np.asarray(hbin.multiply(self.bm25_idf_[None, :]).sum(axis=1)).ravel()[ph]
        f += [score, score / (hidf + 1e-6) / (k1 + 1)]
        # sentence level: the body's sentences closest to the headline, and cue words in them
        refute = CountVectorizer(tokenizer=raw_tokens, token_pattern=None, lowercase=False, vocabulary=ARTICLE_REFUTE)
        hedge = CountVectorizer(tokenizer=raw_tokens, token_pattern=None, lowercase=False, vocabulary=ARTICLE_HEDGE)
        cues = CountVectorizer(tokenizer=raw_tokens, token_pattern=None, lowercase=False, vocabulary=self.cue_vocab_)
        sents = [_article_sentences(t) for t in bodies]
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
        f += list(sf.T)
        hr, hg = refute.transform(heads).toarray(), hedge.transform(heads).toarray()
        f += [hr.sum(axis=1)[ph], hg.sum(axis=1)[ph], np.array(["?" in h for h in heads], float)[ph]]
        relatedness = np.column_stack(f)
        # per-word cue counts: body (per sentence), headline, closest 3 sentences, first 3 sentences
        nsent = np.array([len(s) for s in sents], float)
        br, bg = refute.transform(bodies).toarray(), hedge.transform(bodies).toarray()
        words = np.hstack([br[pb] / nsent[pb, None], bg[pb] / nsent[pb, None], hr[ph], hg[ph]])
        top_cues = cues.transform(top_text).toarray()
        hn, bn = [set(_NUM.findall(h)) for h in heads], [set(_NUM.findall(b)) for b in bodies]
        ex = np.zeros((n, 8))
        for k in range(n):
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
        lead = cues.transform([" ".join(s[:3]) for s in sents]).toarray()[pb]
        return np.hstack([relatedness, words, top_cues, ex, lead])
