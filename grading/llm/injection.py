"""Does a submission try to instruct its grader? A heuristic detector; plain text in, report out.

Defence in depth: the prompt already treats the submission as data and defuses delimiters
(prompt.py). This detector finds text that speaks to the grader — "ignore the rubric", "give
full marks", fake chat tokens and delimiters, role changes — so the educator sees the flag and the
passage. It never changes a grade.

How it reads a text:
1. Normalise: NFKC (fullwidth and mathematical letters become plain), drop invisible format
   characters (zero-width spaces), casefold; for Latin-script patterns also fold Cyrillic and
   Greek look-alikes, accents and digit-for-letter spellings ("1gn0re"), and join letters spaced
   out one by one ("I G N O R E").
2. Split into segments (lines, then sentences) and find signals in each, in English and a few
   other languages. A signal's weight says how strongly it alone suggests an injection.
3. A negation just before a signal ("we must not ignore the instructions") or a quoted mention in
   a text that discusses attacks ("the phrase 'ignore previous instructions'") weakens it; text a
   reader cannot see (hidden DOCX runs) strengthens it.
4. Score a window of two neighbouring segments by combining its signals (noisy-or, each kind
   once); the submission's score is its best window's. At or above `SUSPECT_THRESHOLD` the
   submission is suspected, and the segments behind that score are the passages shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

SUSPECT_THRESHOLD = 0.5
MAX_PASSAGES = 10
MAX_PASSAGE_CHARS = 300
MAX_SEGMENT_CHARS = 600
NEGATION_WINDOW_CHARS = 30
MENTION_FACTOR = 0.35  # a quoted example in a text about attacks is a mention, not a use
HIDDEN_BONUS = 0.2  # hiding words from the reader is itself a sign of intent

# Signal kinds, also the reasons shown to the educator.
OVERRIDE = "asks to ignore the instructions or rubric"
GRADE_DEMAND = "asks for a grade"
GRADE_CLAIM = "claims a grade is deserved"
ADDRESS = "speaks to the grader or the AI"
ROLE = "tries to change the grader's role or rules"
CHAT_TOKEN = "contains chat-template or reasoning tokens"
DELIMITER = "contains a fake delimiter"
ANSWER_FORMAT = "dictates the grader's answer"
HIDDEN = "hidden in the document (invisible to a reader)"

# Cyrillic and Greek letters that look like Latin ones (Unicode confusables, lower case after
# casefold), plus a few symbols students use as letters.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "α": "a",
        "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ℓ": "l",
        "‹": "<", "›": ">", "〈": "<", "〉": ">", "⟨": "<", "⟩": ">", "«": '"', "»": '"',
        "“": '"', "”": '"', "‘": "'", "’": "'",
    }
)  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
# A word mixing letters and leet digits ("m4rks", "1gn0re"); plain numbers ("10/10") stay.
_LEET_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[013457@])[a-z013457@]{3,}\b")
# Four or more letters spaced out one by one; runs of 2+ spaces separate the words.
_SPACED_LETTERS = re.compile(r"(?<![^\s])(?:[^\W\d_] ){3,}[^\W\d_](?![^\s])")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_QUOTED = re.compile(r"(?:^|[\s(:])[\"'][^\"'\n]{3,}?[\"'](?=[\s.,;:!?)]|$)")
_MENTION_CUES = re.compile(
    r"\b(?:for example|for instance|such as|e\.g\.|phrase|called|known as|attacks?|attackers?|"
    r"injection|jailbreak\w*|researchers?|malicious|adversar\w*)\b"
)
_NEGATION = re.compile(
    r"(?:\b(?:not|never|don'?t|do not|doesn'?t|shouldn'?t|mustn'?t|cannot|can'?t|no|nunca|jamais|"
    rf"nicht|nie|non|ne)\b|\bне\b)[^.!?\n]{{0,{NEGATION_WINDOW_CHARS}}}$"
)
# A verb after an auxiliary reports the past ("le professeur a donné la note maximale"); it
# asks for nothing.
_AUXILIARY = re.compile(
    r"\b(?:a|ont|avait|avaient|hat|haben|hatte|ha|han|hanno|habia|tem|tinha|has|have|had|was|"
    r"were)\s+$"
)

# --- English and other Latin-script patterns, on the folded text ---------------------------------
# One word and the space after it, within the clause: "override this to change the scoring rules"
# does not tell the grader to override its rules.
_W = r"(?:(?!(?:to|and|or|but|then|if|when|because|so|that)\b)[\w'+/%-]+\s+)"
_GRADER = (
    r"(?:ai|a\.i\.|artificial intelligence|(?:ai |automated |automatic |the )?grader|"
    r"grading (?:model|assistant|system|ai|bot|engine)|marker|evaluator|assessor|examiner|"
    r"(?:large )?language model|llm|model|assistant|chatbot|bot|gpt|chatgpt|qwen|"
    r"grading assistant|reviewer)s?"
)
# What a grader is told: overriding these is the classic injection.
_INSTRUCTIONS = (
    r"(?:instructions?|rubrics?|criteria|criterion|marking scheme|"
    r"grading (?:scheme|criteria|guide|instructions|rules)|scoring (?:guide|rules)|prompts?|"
    r"system prompt|(?:everything|anything) (?:above|before|else))"
)
# Words that name a grader's rules only when qualified ("your rules", "the previous guidelines");
# bare, they are everyday words ("forget the rules, my heart said").
_GENERIC_RULES = r"(?:rules?|guidelines?|directions?|constraints?)"
_RULES_QUALIFIER = r"(?:previous|prior|above|earlier|original|all|your|grading|marking|scoring)"
_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|bypass|skip|overrule|set aside|do not follow|"
    r"don'?t follow|stop following)"
)
_TOP_GRADE = (
    r"(?:(?:full|maximum|max|perfect|top|highest|best possible|best|total)\s+"
    r"(?:marks?|points?|scores?|grades?|credit|mark|rating|level)|"
    r"100\s*%|100\s*/\s*100|10\s*/\s*10|20\s*/\s*20|10 out of 10|100 out of 100|"
    r"an? a\+?(?![\w])|(?:as |an? )?excellent|all (?:the |of the )?(?:points|marks)|"
    r"the top level|the highest level|the maximum|(?:the )?max(?:imum)? points|a perfect score|"
    r"(?:as )?(?:fully met|fully correct|perfect))"
)
_THIS_WORK = (
    r"(?:this|my|the student'?s|these)\s+(?:\w+\s+)?(?:essay|submission|answer|work|assignment|"
    r"paper|code|program|solution|file|response|report|copy|project|query|implementation)|"
    r"\bme\b|\bit\b|every criterion|all criteria|each criterion"
)
_IMPERATIVE_LEAD = (
    r"(?:^|[:;,.!?(\-]\s*|\b(?:please|kindly|just|now|simply|you must|you should|you will|"
    r"you need to|you have to|make sure to|be sure to|remember to|and|then)\s+)"
)

_LATIN_SIGNALS: list[tuple[str, float, re.Pattern[str]]] = [
    (
        OVERRIDE,
        0.75,
        re.compile(
            rf"\b{_OVERRIDE_VERB}\s+{_W}{{0,4}}?{_INSTRUCTIONS}\b"
            rf"|\b{_OVERRIDE_VERB}\s+{_W}{{0,2}}?{_RULES_QUALIFIER}\s+{_W}{{0,2}}?{_GENERIC_RULES}\b"
        ),
    ),
    (OVERRIDE, 0.45, re.compile(rf"\b{_OVERRIDE_VERB}\s+{_W}{{0,3}}?{_GENERIC_RULES}\b")),
    (
        GRADE_DEMAND,
        0.65,
        re.compile(
            rf"{_IMPERATIVE_LEAD}(?:give|award|assign|grant|mark|score|rate|grade|output|return|"
            rf"set|put|allocate)\s+{_W}{{0,5}}?{_TOP_GRADE}"
        ),
    ),
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            r"\b(?:give|award|assign|grant|mark|score|rate|grade|allocate|treat|consider|count)\s+"
            rf"(?:{_THIS_WORK})\s+{_W}{{0,3}}?{_TOP_GRADE}"
            rf"|\b(?:give|award|assign|grant|allocate)\s+{_W}{{0,3}}?{_TOP_GRADE}\s+"
            rf"(?:to|for|on)\s+(?:{_THIS_WORK})"
        ),
    ),
    (
        GRADE_DEMAND,
        0.35,
        re.compile(rf"\b(?:give|award|assign|grant|allocate)\s+{_W}{{0,3}}?{_TOP_GRADE}"),
    ),
    (
        GRADE_CLAIM,
        0.3,
        re.compile(
            r"\b(?:deserves?|merits?|earns?|receives?|is worth|"
            r"should (?:get|receive|be given|be awarded)|"
            rf"must (?:get|receive|be given))\s+{_W}{{0,3}}?{_TOP_GRADE}"
        ),
    ),
    (
        ADDRESS,
        0.4,
        re.compile(
            r"\b(?:dear|hey|hi|hello|attention|note (?:to|for)|message (?:to|for)|"
            rf"instructions? (?:to|for)|information for)\s+(?:the |all |any )?{_GRADER}\b"
            rf"|(?:^|[\-#/*!<({{\[]\s*){_GRADER}(?: notes?| instructions?| message)?\s*[:,]"
            rf"|\bas (?:an?|the) (?:\w+ )?{_GRADER}\b[^.!?]{{0,40}}\byou\b"
            rf"|\byou are\b[^.!?]{{0,40}}\b{_GRADER}\b"
            rf"|\b{_GRADER}\b[^.!?]{{0,40}}\b(?:should|must|will|needs? to|has to) "
            r"(?:give|award|assign|grant|mark|rate|score|grade|output|return|treat|consider|ignore|"
            r"respond|reply|answer)"
        ),
    ),
    (
        ROLE,
        0.45,
        re.compile(
            r"\byou are (?:now|no longer)\b|\bfrom now on,? you\b"
            r"|\byour (?:new |real |actual )?(?:task|role|job|instructions?|goal) (?:is|are|now)\b"
            rf"|\b(?:act|behave|respond) as (?:an? |the )?(?:\w+ )?{_GRADER}"
            r"|\bpretend (?:to be|you are)\b"
            r"|\bnew (?:instructions?|rules|policy|grading policy|system prompt|directive)\b"
            r"|\bsystem (?:prompt )?(?:update|override)\b|\b(?:developer|admin|god|dan) mode\b"
            r"|^\W*(?:system|admin|developer)\s*\W*\s*:"
        ),
    ),
    (
        CHAT_TOKEN,
        0.8,
        re.compile(
            r"<\s*\|\s*[a-z_]{2,30}\s*\|\s*>|<\s*/?\s*think\s*>|\[/?inst\]|<<\s*/?sys\s*>>"
            r"|<\s*(?:start|end)_of_turn\s*>"
        ),
    ),
    (
        CHAT_TOKEN,
        0.45,
        re.compile(r"^#{2,}\s*(?:system|instruction|response|assistant)\b"),
    ),
    (
        DELIMITER,
        0.5,
        re.compile(
            r"^[\W_]*(?:begin|end|start|close)\s*(?:of\s*)?(?:the\s*)?(?:student'?s?\s*)?"
            r"(?:submission|answer|essay|response|input|document|text|user input|data)[\W_]*$"
            r"|^[\W_]*(?:begin|start)\s*(?:of\s*)?(?:the\s*)?(?:grader|grading|system|teacher|admin|"
            r"marker|evaluator)'?s?\s*(?:notes?|instructions?|prompt|message|override)[\W_]*$"
            r"|<\s*/?\s*(?:submission|grader\w*|system|instructions?)\s*>"
        ),
    ),
    (
        ANSWER_FORMAT,
        0.3,
        re.compile(
            r"\b(?:respond|reply|answer|output|return|print)\s+(?:only\s+)?(?:with|the following|"
            r"exactly)\b[^.!?]{0,40}(?:json|score|grade|points|level|\{)"
            r"|\"(?:scores|points|level)\"\s*:"
        ),
    ),
]

# --- Other languages, on the NFKC-casefolded text (accents removed for the Latin-script ones) ---
_OTHER_LANGUAGE_SIGNALS: list[tuple[str, float, re.Pattern[str]]] = [
    (
        OVERRIDE,
        0.75,
        re.compile(
            # Spanish, Portuguese, Italian, French, German
            r"\b(?:ignora|ignore|ignorar|olvida|omite|descarta|desconsidere|esqueca|ignorate|"
            r"dimentica|ignorez|oublie|oubliez|neglige|ignoriere|ignoriert|vergiss|missachte)\w*\s+"
            r"(?:\w+\s+){0,3}?(?:instrucciones|instrucoes|istruzioni|consignes|instructions|"
            r"anweisungen|rubrica|rubrique|grille|bareme|reglas|regras|regole|regles|regeln|"
            r"criterios|criteri|criteres|kriterien|indicaciones|vorgaben|bewertungs\w+)\b"
        ),
    ),
    (
        GRADE_DEMAND,
        0.65,
        re.compile(
            r"\b(?:otorga|da|dale|asigna|asignale|pon|ponle|de|atribua|coloque|assegna|dai|metti|"
            r"attribuisci|donne|donnez|attribue|attribuez|mets|mettez|accorde|accordez|gib|vergib|"
            r"vergebe|erteile)(?:-\w+)?\s+(?:\w+\s+){0,4}?(?:la\s+|a\s+|il\s+|die\s+)?"
            r"(?:maxima (?:puntuacion|calificacion|nota)|"
            r"(?:nota|calificacion|puntuacion|pontuacao|note|punteggio|voto) "
            r"(?:maxima|massimo|maximale|parfaite)|"
            r"todos los puntos|todos os pontos|tous les points|"
            r"la mejor nota|la meilleure note|pieni voti|volle punktzahl|hochste punktzahl|"
            r"maximale punktzahl|bestnote|alle punkte|nota 10|20/20|10/10)"
            r"|(?:volle|maximale|hochste) punktzahl\s+(?:\w+\s+){0,2}(?:geben|vergeben|erteilen)"
        ),
    ),
    (
        ADDRESS,
        0.4,
        re.compile(
            r"\b(?:nota|mensaje|mensagem|message|nachricht|hinweis) (?:para|pour|an|fur|per) "
            r"(?:la |el |o |a |l'|le |den |die |il )?(?:ia|ki|modelo|modele|modell|evaluador|"
            r"corrector|avaliador|correcteur|bewerter|korrektor|valutatore|"
            r"intelligence artificielle|inteligencia artificial)\b"
        ),
    ),
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"(?:игнорируй|игнорируйте|проигнорируй|забудь|забудьте|не обращай внимания на)\w*\s+"
            r"(?:\w+\s+){0,3}?(?:инструкци|правил|критери|указани|рубрик)"
            r"|(?:忽略|无视|忽视|不要理会|不要遵守)[^。！？\n]{0,10}(?:指令|指示|说明|规则|评分标准|要求|提示)"
            r"|(?:指示|命令|ルール|採点基準|ルーブリック)[^。！？\n]{0,10}無視"
            r"|(?:지시|지침|규칙|채점 기준|명령)[^.!?\n]{0,10}무시"
        ),
    ),
    (
        GRADE_DEMAND,
        0.65,
        re.compile(
            r"(?:поставь|поставьте|дай|дайте|выстави|выставьте|начисли|начислите)\w*\s+"
            r"(?:\w+\s+){0,4}?(?:максимальн\w*|высш\w*|отличн\w*|пятерк\w*|100 балл\w*)"
            r"|(?:给|打|评)[^。！？\n]{0,8}(?:满分|最高分|100分)"
            r"|(?:満点|最高点)[^。！？\n]{0,6}(?:を付け|をつけ|を与え|にして|をください)"
            r"|만점[^.!?\n]{0,6}(?:을|를)?\s*(?:주세요|줘|주십시오|부여)"
        ),
    ),
]


@dataclass(frozen=True)
class Passage:
    text: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class InjectionReport:
    score: float  # 0 … 1: how strongly the text looks like an attempt to instruct the grader
    suspected: bool
    passages: tuple[Passage, ...] = field(default_factory=tuple)

    def as_flag(self) -> dict:
        """The JSON stored under Submission.flags["injection_suspected"]."""
        return {
            "score": round(self.score, 2),
            "passages": [{"text": p.text, "reasons": list(p.reasons)} for p in self.passages],
        }


def detect_injection(text: str, *, hidden_passages: Sequence[str] = ()) -> InjectionReport:
    """Score `text` (and the hidden passages found in it) for instructions aimed at the grader."""
    hidden_set = {_plain(passage).strip() for passage in hidden_passages if passage.strip()}
    mentions_attacks = bool(_MENTION_CUES.search(_latin(text[:200_000])))
    segments = [*_segments(text), *(p for p in hidden_passages if p.strip())]
    found = [
        _signals(segment, hidden=_plain(segment).strip() in hidden_set, mentions=mentions_attacks)
        for segment in segments
    ]
    best_score, best_window = 0.0, ()
    for index in range(len(segments)):
        window = tuple(i for i in (index, index + 1) if i < len(segments) and found[i])
        score = _combine(signal for i in window for signal in found[i].items())
        if score > best_score:
            best_score, best_window = score, window
    suspected = best_score >= SUSPECT_THRESHOLD
    passages: list[Passage] = []
    if suspected:
        strong = [i for i, signals in enumerate(found) if _combine(signals.items()) >= 0.3]
        for i in dict.fromkeys([*best_window, *strong]):
            if len(passages) < MAX_PASSAGES:
                reasons = tuple(sorted(found[i]))
                passages.append(Passage(segments[i].strip()[:MAX_PASSAGE_CHARS], reasons))
    return InjectionReport(score=best_score, suspected=suspected, passages=tuple(passages))


def _combine(signals) -> float:
    """Noisy-or over signal kinds, each kind counted once at its strongest."""
    strongest: dict[str, float] = {}
    for kind, weight in signals:
        strongest[kind] = max(strongest.get(kind, 0.0), weight)
    miss = 1.0
    for weight in strongest.values():
        miss *= 1.0 - weight
    return 1.0 - miss


def _segments(text: str) -> list[str]:
    segments = []
    for line in text.split("\n"):
        for sentence in _SENTENCE_END.split(line):
            while sentence:
                segments.append(sentence[:MAX_SEGMENT_CHARS])
                sentence = sentence[MAX_SEGMENT_CHARS:]
    return [segment for segment in segments if segment.strip()]


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    return text.casefold()


def _latin(text: str) -> str:
    text = _plain(text).translate(_CONFUSABLES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _LEET_WORD.sub(lambda match: match.group(0).translate(_LEET), text)
    text = _SPACED_LETTERS.sub(lambda match: match.group(0).replace(" ", ""), text)
    return re.sub(r"[ \t]+", " ", text)


def _signals(segment: str, *, hidden: bool, mentions: bool) -> dict[str, float]:
    """Each signal kind found in the segment with its (adjusted) weight."""
    latin, plain = _latin(segment), _plain(segment)
    plain_folded = unicodedata.normalize("NFKD", plain)
    plain_folded = "".join(char for char in plain_folded if not unicodedata.combining(char))
    found: dict[str, float] = {}
    checks = [
        (latin, _LATIN_SIGNALS),
        (plain_folded, _OTHER_LANGUAGE_SIGNALS),  # accents dropped: "máxima" as "maxima"
        (plain, _OTHER_LANGUAGE_SIGNALS),  # Cyrillic, CJK and Hangul as written
    ]
    for view, signals in checks:
        for kind, weight, pattern in signals:
            match = pattern.search(view)
            if match is None:
                continue
            before = view[: match.start()]
            if _NEGATION.search(before) or _AUXILIARY.search(before):
                weight *= MENTION_FACTOR
            found[kind] = max(found.get(kind, 0.0), weight)
    quoted_mention = mentions and _QUOTED.search(latin) is not None
    for kind in found:
        if quoted_mention:
            found[kind] *= MENTION_FACTOR
        if hidden:
            found[kind] = min(1.0, found[kind] + HIDDEN_BONUS)
    if hidden and found:
        found[HIDDEN] = HIDDEN_BONUS
    return found
