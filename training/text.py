"""Tokenizing and sentence splitting shared by data checks, features and predict (pure re)."""

import re

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A sentence ends at ., ! or ? (plus closing quotes/brackets) followed by white space.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; curly apostrophes folded so "didn’t" -> "didn't"."""
    return TOKEN.findall(text.lower().replace("\u2019", "'"))


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences at sentence punctuation and at line breaks."""
    out = []
    for line in text.splitlines():
        out += [s.strip() for s in SENTENCE_END.split(line.strip()) if s.strip()]
    return out
