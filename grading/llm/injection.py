"""Does a submission try to instruct its grader? Plain text in, report out.

Defence in depth: the prompt already treats the submission as data and defuses delimiters
(prompt.py). This detector finds text that speaks to the grader, so the educator sees the flag and
the passage. It never changes a grade.

How it reads a text:
1. Passages: lines and sentences; the insides of code and markup comments (/* */, //, #, --,
   <!-- -->, docstrings, Markdown comments) and of hidden markup; and text decoded from base64
   or rot13 blobs. Where a passage came from is a context: a comment, hidden text or an encoded
   blob that speaks to the grader is worse than a sentence that does.
2. Views of each passage: NFKC, invisible format characters dropped, casefolded ("plain");
   then for Latin-script patterns also look-alike letters folded to ASCII, accents dropped,
   leetspeak read as letters and letter-spaced words joined ("latin").
3. Features by kind (injection_kinds.py): addressing a machine reader, claiming authority or a
   changed rubric, asking to set the rules aside, asking for a grade, dictating the answer,
   chat-role markup, fake delimiters, a new role. A negation before a match, or a match inside
   a quotation in a text that discusses attacks and does not point at this very work, is a
   mention rather than a use and weighs less.
4. Score: noisy-or over the kinds in a window of two neighbouring passages, each kind once at its
   strongest, plus the context bonus. At or above SUSPECT_THRESHOLD the submission is suspected;
   in the grey band [AMBIGUOUS_THRESHOLD, SUSPECT_THRESHOLD) it is ambiguous, and a second stage
   (a callable, e.g. injection_judge.BackendJudge asking the grading model) may settle it.
The thresholds were set on the development corpus only (tests/fixtures/injection/*.jsonl);
the held-out corpus (tests/fixtures/injection/heldout/) only measures them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from grading.llm import injection_kinds as kinds
from grading.llm.injection_kinds import (  # noqa: F401 -- the kinds are part of this API
    ADDRESS,
    ANSWER_FORMAT,
    AUTHORITY,
    CHAT_TOKEN,
    DELIMITER,
    GRADE_CLAIM,
    GRADE_DEMAND,
    OVERRIDE,
    ROLE,
)

SUSPECT_THRESHOLD = 0.45
AMBIGUOUS_THRESHOLD = 0.3
MAX_PASSAGES = 10
MAX_PASSAGE_CHARS = 300
MAX_SEGMENT_CHARS = 600
MAX_TEXT_CHARS = 400_000  # bounds the work on one submission
MAX_DECODED_BLOBS = 20
MAX_BLOB_CHARS = 8192  # of a base64 blob, decoded (a multiple of 4: the prefix decodes alone)
MAX_SECOND_STAGE_PASSAGES = 3
NEGATION_WINDOW_CHARS = 30
MENTION_FACTOR = 0.35  # a quoted example in a text about attacks is a mention, not a use
CONTEXT_BONUS = 0.2  # hiding words from the reader (comment, hidden run, encoding) shows intent

# Contexts, also reasons shown to the educator.
HIDDEN = "hidden in the document (invisible to a reader)"
COMMENT = "inside a code or markup comment"
ENCODED = "encoded (base64 or rot13)"
SECOND_STAGE = "the grading model judged it an instruction to the grader"

# Cyrillic and Greek letters that look like Latin ones (Unicode confusables, lower case after
# casefold), Vietnamese đ, and symbols students use as letters or quotes.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "α": "a",
        "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ℓ": "l", "đ": "d", "ı": "i", "ł": "l",
        "‹": "<", "›": ">", "〈": "<", "〉": ">", "⟨": "<", "⟩": ">", "«": '"', "»": '"',
        "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'",
    }
)  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
# A word mixing letters and leet digits ("m4rks", "1gn0re", "4s"); plain numbers ("10/10") stay.
_LEET_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[013457@])[a-z013457@]{2,}\b")
# Four or more letters spaced out one by one; runs of 2+ spaces separate the words.
_SPACED_LETTERS = re.compile(r"(?<![^\s])(?:[^\W\d_] ){3,}[^\W\d_](?![^\s])")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_QUOTED = re.compile(r"\"[^\"\n]{3,}?\"|(?:^|[\s(:])'[^'\n]{3,}?'(?=[\s.,;:!?)]|$)")
_NEGATION = re.compile(
    r"(?:\b(?:not|never|don'?t|do not|doesn'?t|shouldn'?t|mustn'?t|cannot|can'?t|no|nunca|jamais|"
    rf"nicht|nie|non|ne|khong)\b|\bне\b|不要|不能)[^.!?\n]{{0,{NEGATION_WINDOW_CHARS}}}$"
)
# A verb after an auxiliary reports the past ("le professeur a donné la note maximale").
_AUXILIARY = re.compile(
    r"\b(?:a|ont|avait|avaient|hat|haben|hatte|ha|han|hanno|habia|tem|tinha|has|have|had|was|"
    r"were|did)\s+$"
)
# Comments and hidden markup, whose insides become passages of their own.
_BLOCK_COMMENTS = re.compile(
    r"/\*(?P<c>.*?)\*/|<!--(?P<h>.*?)-->|\"\"\"(?P<d>.*?)\"\"\"|'''(?P<s>.*?)'''"
    r"|^\s*\[//\]:\s*#\s*[(\"'](?P<m>.*?)[)\"']\s*$",
    re.DOTALL | re.MULTILINE,
)
_LINE_COMMENT = re.compile(r"(?:^\s*(?:#|//|--|%)|\s(?:#|//|--))\s*(?P<c>\S.*)$")
_HIDDEN_MARKUP = re.compile(
    r"<(?P<tag>\w+)[^>]*style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|"
    r"font-size\s*:\s*0|opacity\s*:\s*0)[^\"']*[\"'][^>]*>(?P<c>.*?)</(?P=tag)\s*>",
    re.DOTALL | re.IGNORECASE,
)
# Invisible format characters (Unicode category Cf: zero-width spaces and joiners, bidi
# controls, tag characters), and the combining marks that NFKD splits off accented letters.
_FORMAT_CHARS = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{20,}={0,2}(?![A-Za-z0-9+/])")
# English words common in an instruction; rot13 text holds none of them until decoded.
_COMMON_WORDS = frozenset(
    re.findall(
        r"\w+",
        "the and to of this is a you for all on with your be it as are in that give grade "
        "grader essay score marks points every criterion",
    )
)

Judge = Callable[[str], bool | None]


@dataclass(frozen=True)
class Passage:
    text: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class InjectionReport:
    score: float  # 0 … 1: how strongly the text looks like an attempt to instruct the grader
    suspected: bool
    passages: tuple[Passage, ...] = field(default_factory=tuple)
    # In the grey band: the first stage could not tell (passages then hold the candidates).
    ambiguous: bool = False
    # "", or what the second stage said: "instructs", "content" or "unsure".
    second_stage: str = ""

    def as_flag(self) -> dict:
        """The JSON stored under Submission.flags["injection_suspected"] (or _unsure)."""
        flag = {
            "score": round(self.score, 2),
            "passages": [{"text": p.text, "reasons": list(p.reasons)} for p in self.passages],
        }
        if self.second_stage:
            flag["second_stage"] = self.second_stage
        return flag


@dataclass(frozen=True)
class _Segment:
    text: str
    context: str = ""  # "", HIDDEN, COMMENT or ENCODED


def detect_injection(
    text: str, *, hidden_passages: Sequence[str] = (), second_stage: Judge | None = None
) -> InjectionReport:
    """Score `text` (and the hidden passages found in it) for instructions aimed at the grader.

    `second_stage`, when given, is asked about the passages of an ambiguous text (one in the grey
    band): True (it instructs the grader) makes the text suspected, False keeps it clear, None
    (the judge could not tell) leaves it ambiguous.
    """
    text = text[:MAX_TEXT_CHARS]
    mentions = bool(kinds.MENTION_CUES.search(_latin(text)))
    segments = [
        *_segments(text),
        *(_Segment(p, HIDDEN) for p in hidden_passages if p.strip()),
    ]
    found = [_signals(segment, mentions=mentions) for segment in segments]
    best_score, best_window = 0.0, ()
    for index in range(len(segments)):
        window = tuple(i for i in (index, index + 1) if i < len(segments) and found[i])
        score = _combine(signal for i in window for signal in found[i].items())
        if score > best_score:
            best_score, best_window = score, window
    report = InjectionReport(
        score=best_score,
        suspected=best_score >= SUSPECT_THRESHOLD,
        ambiguous=AMBIGUOUS_THRESHOLD <= best_score < SUSPECT_THRESHOLD,
    )
    if report.suspected or report.ambiguous:
        report = replace(report, passages=_passages(segments, found, best_window))
    if report.ambiguous and second_stage is not None:
        report = _ask_second_stage(report, second_stage)
    return report


def _passages(segments, found, best_window) -> tuple[Passage, ...]:
    strong = [i for i, signals in enumerate(found) if _combine(signals.items()) >= 0.3]
    passages: list[Passage] = []
    for i in dict.fromkeys([*best_window, *strong]):
        if len(passages) < MAX_PASSAGES:
            reasons = tuple(sorted(found[i]))
            passages.append(Passage(segments[i].text.strip()[:MAX_PASSAGE_CHARS], reasons))
    return tuple(passages)


def second_stage_report(flag: dict, judge: Judge) -> InjectionReport:
    """Ask `judge` about an ambiguous report stored as a flag (InjectionReport.as_flag)."""
    passages = tuple(
        Passage(str(p["text"]), tuple(p.get("reasons", ()))) for p in flag.get("passages", [])
    )
    report = InjectionReport(
        score=float(flag.get("score", 0.0)), suspected=False, passages=passages, ambiguous=True
    )
    return _ask_second_stage(report, judge)


def _ask_second_stage(report: InjectionReport, judge: Judge) -> InjectionReport:
    verdicts = [judge(p.text) for p in report.passages[:MAX_SECOND_STAGE_PASSAGES]]
    if any(verdict is True for verdict in verdicts):
        passages = tuple(
            Passage(p.text, (*p.reasons, SECOND_STAGE)) if verdict else p
            for p, verdict in zip(report.passages, verdicts, strict=False)
        )
        return replace(
            report,
            score=max(report.score, SUSPECT_THRESHOLD),
            suspected=True,
            ambiguous=False,
            passages=passages,
            second_stage="instructs",
        )
    if verdicts and all(verdict is False for verdict in verdicts):
        return replace(report, ambiguous=False, second_stage="content")
    return replace(report, second_stage="unsure")


def _combine(signals) -> float:
    """Noisy-or over signal kinds, each kind counted once at its strongest."""
    strongest: dict[str, float] = {}
    for kind, weight in signals:
        strongest[kind] = max(strongest.get(kind, 0.0), weight)
    miss = 1.0
    for weight in strongest.values():
        miss *= 1.0 - weight
    return round(1.0 - miss, 6)  # 1 - (1 - 0.45) is 0.45, not 0.4499…


def _segments(text: str) -> list[_Segment]:
    """Lines and sentences, then comment and hidden-markup insides, then decoded blobs."""
    segments = [_Segment(piece) for piece in _split(text)]
    for match in _BLOCK_COMMENTS.finditer(text):
        inside = next(group for group in match.groups() if group is not None)
        segments += [_Segment(piece, COMMENT) for piece in _split(inside)]
    for line in text.split("\n"):
        if match := _LINE_COMMENT.search(line):
            segments.append(_Segment(match.group("c")[:MAX_SEGMENT_CHARS], COMMENT))
    for match in _HIDDEN_MARKUP.finditer(text):
        segments += [_Segment(piece, HIDDEN) for piece in _split(match.group("c"))]
    segments += [_Segment(piece, ENCODED) for piece in _decoded(text)]
    return segments


def _split(text: str) -> list[str]:
    pieces = []
    for line in text.split("\n"):
        for sentence in _SENTENCE_END.split(line):
            while sentence:
                pieces.append(sentence[:MAX_SEGMENT_CHARS])
                sentence = sentence[MAX_SEGMENT_CHARS:]
    return [piece for piece in pieces if piece.strip()]


def _decoded(text: str) -> list[str]:
    """Readable text hidden in base64 blobs, and lines that read as English once rot13'd."""
    found = []
    for match in _BASE64_BLOB.finditer(text):
        if len(found) >= MAX_DECODED_BLOBS:
            break
        blob = match.group(0)[:MAX_BLOB_CHARS]
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
        if " " in decoded and sum(c.isprintable() for c in decoded) >= 0.95 * len(decoded):
            found.extend(_split(decoded))
    for line in _split(text):
        words = re.findall(r"[a-z]+", line.casefold())
        rotated = codecs.encode(" ".join(words), "rot13").split()
        if len(words) >= 4 and _common(rotated) >= _common(words) + 3:
            found.append(codecs.encode(line, "rot13"))
    return found


def _common(words: list[str]) -> int:
    return sum(word in _COMMON_WORDS for word in words)


def _plain(text: str) -> str:
    return _FORMAT_CHARS.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _latin(text: str, plain: str | None = None) -> str:
    text = (_plain(text) if plain is None else plain).translate(_CONFUSABLES)
    text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text))
    text = _LEET_WORD.sub(lambda match: match.group(0).translate(_LEET), text)
    text = _SPACED_LETTERS.sub(lambda match: match.group(0).replace(" ", ""), text)
    return re.sub(r"[ \t]+", " ", text)


def _signals(segment: _Segment, *, mentions: bool) -> dict[str, float]:
    """Each kind found in the segment with its (adjusted) weight, plus its context."""
    plain = _plain(segment.text)
    latin = _latin(segment.text, plain)
    found: dict[str, float] = {}
    quoted_spans = [m.span() for m in _QUOTED.finditer(latin)] if mentions else []
    points_here = kinds.THIS_WORK.search(latin) or kinds.THIS_WORK.search(plain)
    for view, signals in ((latin, kinds.LATIN), (plain, kinds.PLAIN)):
        for kind, weight, pattern in signals:
            match = pattern.search(view)
            if match is None:
                continue
            before = view[: match.start()]
            negated = _NEGATION.search(before) or _AUXILIARY.search(before)
            quoted = view is latin and not points_here and _inside(match.span(), quoted_spans)
            if negated or quoted:
                weight *= MENTION_FACTOR
            found[kind] = max(found.get(kind, 0.0), weight)
    if mentions and not points_here and set(found) <= {CHAT_TOKEN, ANSWER_FORMAT}:
        found = {kind: weight * MENTION_FACTOR for kind, weight in found.items()}
    if segment.context and max(found.values(), default=0.0) >= AMBIGUOUS_THRESHOLD:
        found = {kind: min(1.0, weight + CONTEXT_BONUS) for kind, weight in found.items()}
        found[segment.context] = CONTEXT_BONUS
    return found


def _inside(span: tuple[int, int], quoted: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in quoted)


NEAR_FULL_MARKS = 0.9  # of the maximum: a grade this high must be backed by the text
ECHO_WORDS = 6  # this many words in a row from a suspected passage, in the model's text, is an echo
# An instruction in the model's text counts when this many words in a row come from the submission.
REPEAT_WORDS = 4


def grade_follows_injection(
    *,
    points: int,
    max_points: int,
    quotes_verified: Sequence[bool],
    model_text: str,
    submission_text: str = "",
    suspected_passages: Sequence[str] = (),
) -> bool:
    """Does an AI grade look like it obeyed the submission rather than graded it?

    True when the grade is at least NEAR_FULL_MARKS of the maximum while its evidence is not in
    the submission (no quotes, or a quote not found); or when the model's own justification and
    feedback (`model_text`) hold an instruction to a grader taken from the submission (the
    detector fires on a passage of it that shares REPEAT_WORDS words in a row with the
    submission), or repeat ECHO_WORDS words in a row of a suspected passage.
    """
    near_full = max_points > 0 and points >= NEAR_FULL_MARKS * max_points
    if near_full and (not quotes_verified or not all(quotes_verified)):
        return True
    report = detect_injection(model_text)
    submitted = _word_runs(submission_text, REPEAT_WORDS)
    if report.suspected and any(
        _word_runs(p.text, REPEAT_WORDS) & submitted for p in report.passages
    ):
        return True
    said = _word_runs(model_text, ECHO_WORDS)
    return any(said & _word_runs(passage, ECHO_WORDS) for passage in suspected_passages)


def _word_runs(text: str, length: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", _latin(text))
    return {tuple(words[i : i + length]) for i in range(len(words) - length + 1)}
