"""Training-pair augmentation: denials rewritten with dismissal idioms.

News denies with idioms as often as with "denied": the Kremlin "poured cold water over a media
report", a minister "brushed aside" a claim. In the corpus nearly every dismissal of a report
also carries a cue word ("dismissed", "rejected"), so the model learns the cue word and reads an
idiom followed by the claim's words as an assertion. Each train `deny` pair whose sentence
dismisses, rejects or denies a report-like noun is copied once per idiom, the verb replaced;
the copies share one unit of weight (each 1/len(IDIOMS)), so the pair counts twice, not 13
times, and every idiom is used alike (no random draw to move the result).

Measured over four training seeds (README "Dismissal idioms"): emergent-dev 0.842 against 0.832,
check-covid-dev 0.454 against 0.453, corpus test 0.810 against 0.797; the held-out articles'
stance unchanged; the seed article's "poured cold water" sentence goes from assert (p_deny 0.30)
to deny (0.61-0.62 at the shipped meaning share 0.6; 0.51-0.53 at 0.5).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Common English idioms for dismissing a report; each replaces the verb in "dismissed the report".
IDIOMS = ("poured cold water on", "brushed aside", "played down", "shot down", "waved away", "scoffed at",
          "threw cold water on", "swatted away", "knocked down", "pushed back against", "laughed off",
          "cast doubt on")
# "dismissed|rejected|denied", then within six words a report-like noun ("the media report")
_VERB = re.compile(r"\b(?:dismissed|rejected|denied)\b(?=(?:\W+\w+){0,6}?\W+(?:the |a |an |any |all )?(?:\w+ )?"
                   r"(?:reports?|claims?|rumou?rs?|suggestions?|speculation|allegations?|story|stories|accounts?|"
                   r"idea|talk|findings?|figures?|data)\b)", re.I)
TAG = "augmented"
WEIGHT = "weight"  # the column train_weights multiplies in


def dismissal_copies(train: pd.DataFrame, label: str = "deny") -> pd.DataFrame:
    """The `label` pairs of `train` whose sentence dismisses a report, once per idiom (tagged
    `augmented`, with a `weight` of 1/len(IDIOMS)); an empty frame when none matches."""
    rows = []
    for r in train[train["stance"] == label].to_dict("records"):
        m = _VERB.search(r["sentence"])
        if m is None:
            continue
        for idiom in IDIOMS:
            rows.append({**r, "sentence": r["sentence"][:m.start()] + idiom + r["sentence"][m.end():],
                         "tags": [*r.get("tags", []), TAG], WEIGHT: 1.0 / len(IDIOMS)})
    return pd.DataFrame(rows, columns=[*train.columns, WEIGHT] if WEIGHT not in train else train.columns)


def with_dismissal_idioms(train: pd.DataFrame, log) -> pd.DataFrame:
    """`train` plus its dismissal copies (the originals get weight 1)."""
    copies = dismissal_copies(train)
    log(f"augmentation: {len(copies) // len(IDIOMS)} train denials copied with {len(IDIOMS)} dismissal idioms "
        f"({len(copies)} pairs at weight 1/{len(IDIOMS)})")
    out = pd.concat([train.assign(**{WEIGHT: 1.0}), copies], ignore_index=True)
    out[WEIGHT] = out[WEIGHT].astype(float)
    return out


def originals(frame: pd.DataFrame) -> np.ndarray:
    """Mask of the rows that are not copies: what baselines fit on and cross-validation scores."""
    if "tags" not in frame:
        return np.ones(len(frame), dtype=bool)
    return np.array([TAG not in t for t in frame["tags"]], dtype=bool)


def weights(frame: pd.DataFrame) -> np.ndarray | None:
    """The augmentation weights of a train frame, or None when it has none. The models balance
    classes by their rows ("balanced"), and 12 copies at 1/12 are 12 rows: each class is scaled
    so that it counts by its weight, not its rows (without this the copies halved every deny)."""
    if WEIGHT not in frame:
        return None
    w, y = frame[WEIGHT].to_numpy(dtype=float, copy=True), frame["stance"].to_numpy(dtype=object)
    for label in np.unique(y):
        rows = y == label
        w[rows] *= rows.sum() / w[rows].sum()
    return w
