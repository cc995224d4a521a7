"""Tokenizing and sentence splitting shared by data checks, features, predict and document mode."""

import functools
import re

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A date stamp that opens a line ("date 2024-11-11 The Kremlin ...", "2024-11-11 The ...") is a
# piece of its own: no splitter cuts a sentence there, and it must not join the first sentence.
# pysbd is needed only where a line might hold two sentences: . ! ? followed by more text
INNER_END = re.compile(r"[.!?\u2026].*\S")
DATE_STAMP = re.compile(r"^((?:date\s+)?\d{4}-\d{2}-\d{2})\s+(?=\S)", re.I)


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
    """News text -> sentences. A line break always ends a sentence (headlines and datelines carry
    no full stop); within a line pysbd decides, which knows abbreviations, titles, initials,
    decimals, times and closing quotes (README "Sentence splitting" has the comparison)."""
    return [s for line in split_lines(text) for s in line]


def split_lines(text: str) -> list[list[str]]:
    """The sentences of each non-blank line (document mode keeps the paragraphs)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        pieces = []
        stamp = DATE_STAMP.match(line)
        if stamp:
            pieces.append(stamp.group(1))
            line = line[stamp.end():]
        if INNER_END.search(line):
            pieces += _segment(line)
        elif line:
            pieces.append(line)  # no . ! ? before the end: one sentence (a headline, a short line)
        out.append(pieces)
    return out


def _segment(line: str) -> list[str]:
    """pysbd's sentences of one line. `processor(...).process()` is what `segment` runs before
    it maps each sentence back onto the text with one regex per sentence (a third of the time);
    on a line without cleaning the sentences are verbatim, checked here, so the map is skipped."""
    seg = _segmenter()
    out = [s.strip() for s in seg.processor(line).process() if s.strip()]
    if all(s in line for s in out):
        return out
    return [s.strip() for s in seg.segment(line) if s.strip()]


@functools.cache
def _segmenter():
    import pysbd  # 14 ms to import: only document mode and the corpus checks split text
    seg = pysbd.Segmenter(language="en", clean=False)
    seg.language_module = _fast_english(seg.language_module)
    return seg


def _fast_english(english):
    """pysbd's English with a quicker abbreviation search, same output. pysbd tries each of its
    188 abbreviations with regexes wherever its letters occur anywhere in the line ("a", "no",
    "art" almost always do), but all it ever changes is a full stop right after the abbreviation
    at the start of a word ("Gen." -> "Gen∯"). So an abbreviation is skipped when no word of the
    line starts with it and a full stop, unless it holds a regex character of its own ("u.s") or
    the line has a letter whose case-folding differs from lower() (then pysbd's own search runs).
    Same pieces on the corpus, both dev sets and every FNC-1 body (26,155 lines); document mode's
    split takes 4.5 ms per 30-sentence article instead of 14 ms."""

    longest = max(len(a.strip()) for a in english.Abbreviation.ABBREVIATIONS)

    class Replacer(english.AbbreviationReplacer):
        def search_for_abbreviations_in_string(self, text):
            if _ODD_CASE.search(text):
                return super().search_for_abbreviations_in_string(text)
            lowered = text.lower()
            starts = {w[:k] for w in _SPACE.split(lowered) if "." in w for k in range(2, min(len(w), longest + 1) + 1)}
            for abbr in self.lang.Abbreviation.ABBREVIATIONS:
                stripped = abbr.strip()
                if stripped not in lowered or (stripped + "." not in starts and re.escape(stripped) == stripped):
                    continue
                # from here on pysbd's own loop body (pysbd 0.3.4, abbreviation_replacer.py)
                abbrev_match = re.findall(r"(?:^|\s|\r|\n){}".format(stripped), text, flags=re.IGNORECASE)
                if not abbrev_match:
                    continue
                char_array = re.findall(r"(?<={" + str(re.escape(stripped)) + "} ).{1}", text)
                for ind, match in enumerate(abbrev_match):
                    text = self.scan_for_replacements(text, match, ind, char_array)
            return text

    return type("FastEnglish", (english,), {"AbbreviationReplacer": Replacer})


# letters that re.IGNORECASE matches to ASCII but lower() does not map there (Kelvin sign, long s,
# dotted and dotless i): on such a line the prefix test could skip a real match
_ODD_CASE = re.compile("[\u212a\u017f\u0130\u0131]")
_SPACE = re.compile(r"\s")


def is_whole(sentence: str, pieces: list[str], longest: int = 4) -> bool:
    """True when `sentence` is one split piece or a run of up to `longest` consecutive pieces."""
    if sentence in pieces:
        return True
    return any(" ".join(pieces[i:j]) == sentence
               for i, p in enumerate(pieces) if sentence.startswith(p)
               for j in range(i + 2, min(len(pieces), i + longest) + 1))
