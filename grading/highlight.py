"""The submission's lines as HTML with the verified evidence quotes marked.

Quotes are found the way EvidenceChecker verifies them (grading.llm.evidence.normalise: case,
whitespace runs and typographic forms ignored), so a quote that spans lines, or differs from the
text only in case or spacing, is still marked. Every piece of submission text is escaped; only the
<mark> tags are markup.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

from grading.llm.evidence import normalise

# The text as alternating runs of whitespace and of everything else.
_RUNS = re.compile(r"(?P<space>\s+)|(?P<other>\S+)")
# The model sees delimiter look-alikes as ‹ › (grading.llm.prompt.neutralise); read them back.
_UNNEUTRALISE = str.maketrans({"‹": "<", "›": ">"})
_EDGE_ELLIPSES = re.compile(r"^(?:\.{3}|…)+|(?:\.{3}|…)+$")


@lru_cache(maxsize=4096)
def _normalised_char(char: str) -> str:
    """A character other than whitespace as normalise() reads it; texts reuse few characters."""
    return normalise(char)


def _normalised_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the original index it came from."""
    pieces: list[str] = []
    origins: list[int] = []
    for match in _RUNS.finditer(text):
        start, run = match.start(), match.group()
        if match.lastgroup == "space":
            # A run of whitespace reads as one space, as in normalise().
            if pieces and pieces[-1] != " ":
                pieces.append(" ")
                origins.append(start)
        elif run.isascii():
            # normalise() only lower-cases ASCII: one character for one, so no loop per character.
            pieces.append(run.lower())
            origins.extend(range(start, start + len(run)))
        else:
            for offset, char in enumerate(run):
                normalised = _normalised_char(char)
                if normalised:
                    pieces.append(normalised)
                    origins.extend([start + offset] * len(normalised))
    return "".join(pieces), origins


def evidence_spans(*, text: str, quotes: list[str]) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) ranges of the text that the quotes point at."""
    haystack, origins = _normalised_with_offsets(text)
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        wanted = normalise(_EDGE_ELLIPSES.sub("", quote.strip()))
        for candidate in dict.fromkeys((wanted, wanted.translate(_UNNEUTRALISE))):
            if not candidate:
                continue
            start = haystack.find(candidate)
            while start != -1:
                end = start + len(candidate)
                spans.append((origins[start], origins[end - 1] + 1))
                start = haystack.find(candidate, end)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlighted_lines(*, text: str, quotes: list[str]) -> list[SafeString]:
    """One escaped HTML string per line of the text, with <mark> around the quoted parts."""
    spans = evidence_spans(text=text, quotes=quotes)
    lines: list[SafeString] = []
    line_start = 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        html = SafeString()
        cursor = line_start
        for start, end in spans:
            start, end = max(start, line_start), min(end, line_end)
            # A quote that crosses lines marks each line's text, not its indentation.
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start >= end:
                continue
            html += escape(text[cursor:start]) + format_html("<mark>{}</mark>", text[start:end])
            cursor = end
        lines.append(html + escape(text[cursor:line_end]))
        line_start = line_end + 1
    return lines


def verified_quotes(results: dict) -> list[str]:
    """The verified quotes of a run's criterion results ({criterion id: CriterionResult})."""
    return [
        item["quote"]
        for result in results.values()
        for item in result.evidence
        if isinstance(item, dict) and item.get("verified") and isinstance(item.get("quote"), str)
    ]
