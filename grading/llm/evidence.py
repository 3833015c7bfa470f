"""Check the model's evidence: is each quote really in the submission?

A quote counts as verified when it appears in the submission after both are normalised: runs of
whitespace become one space (answers under the grammar cannot hold line breaks, so a quote that
spans lines comes back on one line), case is ignored, and typographic quotes and dashes read as
their plain forms. The model saw the submission through `neutralise` (delimiter look-alikes with
‹ › in place of < >), so a quote that matches the neutralised text is verified too. Ellipses at a
quote's ends ("… the base case") only mark an excerpt and are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from grading.llm.prompt import neutralise

_WHITESPACE = re.compile(r"\s+")
_EDGE_ELLIPSES = re.compile(r"^(?:\.{3}|…)+|(?:\.{3}|…)+$")
_PLAIN_FORMS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)

QUOTE = "quote"
VERIFIED = "verified"


@dataclass(frozen=True)
class CheckedQuote:
    quote: str
    verified: bool

    def as_json(self) -> dict[str, str | bool]:
        return {QUOTE: self.quote, VERIFIED: self.verified}


class EvidenceChecker:
    """Checks quotes against one submission; normalises the submission once."""

    def __init__(self, submission_text: str) -> None:
        self._texts = {normalise(submission_text), normalise(neutralise(submission_text))}

    def check(self, quote: str) -> CheckedQuote:
        wanted = normalise(_EDGE_ELLIPSES.sub("", quote.strip()))
        # An empty quote points at nothing, so it cannot count as evidence.
        verified = bool(wanted) and any(wanted in text for text in self._texts)
        return CheckedQuote(quote=quote, verified=verified)

    def check_all(self, quotes: tuple[str, ...] | list[str]) -> list[CheckedQuote]:
        return [self.check(quote) for quote in quotes]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN_FORMS)
    return _WHITESPACE.sub(" ", text).strip().casefold()
