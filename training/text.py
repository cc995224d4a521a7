"""Tokenizing and sentence splitting shared by data checks, features and predict (pure re)."""

import functools
import re

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A sentence ends at ., ! or ? (plus closing quotes/brackets) followed by white space.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+")


# Real news writes "didn't", "isn't", "won't"; the corpus mostly writes "did not". Expanding
# contractions lets one learned "not" serve both (measured: without it, headlines such as
# "No, a bird didn't poop on Putin" came out assert).
_CONTRACTED = re.compile(r"\b(ca|wo|sha|ai)n['\u2019]t\b", re.I)
_NT = re.compile(r"\b(\w+)n['\u2019]t\b", re.I)
_FULL = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}


def expand_contractions(text: str) -> str:
    """ "didn't" -> "did not", "won't" -> "will not", "can’t" -> "can not"."""
    if "n'" not in text and "n\u2019" not in text and "N'" not in text and "N\u2019" not in text:
        return text  # the common case, and the hot path of every feature block
    text = _CONTRACTED.sub(lambda m: _FULL[m.group(1).lower()] + " not", text)
    return _NT.sub(lambda m: m.group(1) + " not", text)


def raw_tokens(text: str) -> list[str]:
    """Lower-cased word tokens; curly apostrophes folded so "didn’t" -> "didn't"."""
    return TOKEN.findall(text.lower().replace("\u2019", "'"))


@functools.lru_cache(maxsize=65_536)
def tokens(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens with contractions expanded ("didn't" -> "did", "not"). Cached:
    four feature blocks read the same sentences and claims (a tuple, so no caller can alter it)."""
    return tuple(raw_tokens(expand_contractions(text)))


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences at sentence punctuation and at line breaks."""
    out = []
    for line in text.splitlines():
        out += [s.strip() for s in SENTENCE_END.split(line.strip()) if s.strip()]
    return out
