"""The kinds of text that try to instruct a grader, as patterns over normalised text.

Each kind is a way of speaking to the grader, not a phrase: addressing the reader as a machine,
claiming authority or a changed rubric, asking to set aside the rules, asking for a grade,
dictating the answer, chat-role markup, fake delimiters, changing the grader's role. A kind has
patterns in English, German, French, Spanish, Vietnamese (all on the folded Latin view: accents,
look-alikes and leetspeak removed, see injection.py) and Chinese, Japanese, Korean and Russian (on
the plain view, as written). A pattern's weight says how strongly it alone suggests an attack;
injection.py combines the kinds found in a passage.
"""

from __future__ import annotations

import re

# Kinds, also the reasons shown to the educator.
ADDRESS = "speaks to the grader as a machine"
AUTHORITY = "claims authority or a changed rubric"
OVERRIDE = "asks to ignore the instructions or rubric"
GRADE_DEMAND = "asks for a grade"
GRADE_CLAIM = "claims a grade is deserved"
ANSWER_FORMAT = "dictates the grader's answer"
CHAT_TOKEN = "contains chat-role markup or reasoning tokens"
DELIMITER = "contains a fake delimiter"
ROLE = "tries to change the grader's role or rules"

Signal = tuple[str, float, re.Pattern[str]]

# One word and the space after it, within the clause.
_W = r"(?:(?!(?:to|and|or|but|then|if|when|because|so|that)\b)[\w'+/%=-]+[,:]?\s+)"
# Who grades, when it is a machine (or anyone): the nouns a student uses to address it.
_MACHINE = (
    r"(?:ai|a\.i\.|artificial intelligence|llm|(?:large )?language models?|chatbot|gpt|chatgpt|"
    r"qwen|\w*bot|machine|software|program|model|tool|engine|system|assistant|reader|grader|marker|"
    r"evaluator|assessor|reviewer|examiner|corrector|checker)s?"
)
# A machine noun qualified as the one grading ("grading assistant", "automated reviewer").
_GRADING_MACHINE = (
    r"(?:(?:ai|automated|automatic|machine|computer|grading|marking|evaluation|evaluating|"
    rf"scoring|assessment|review|correction)\s+(?:\w+\s+)?{_MACHINE}|ai|a\.i\.|llm|language model|"
    r"artificial intelligence|grader|marker|evaluator|assessor|examiner|chatbot|gpt|chatgpt)"
)
_TOP_GRADE = (
    r"(?:(?:full|maximum|max|perfect|top|highest|best possible|best|total|maximal)\s+"
    r"(?:marks?|points?|scores?|grades?|credit|band|level|result|rating|mark)|"
    r"(?:1\d\d|[1-9]\d?)\s*%?\s*/\s*(?:1\d\d|[1-9]\d?)|100\s*%|(?:10|20|100) out of (?:10|20|100)|"
    r"an? a\+?(?![\w])|(?:as )?(?:excellent|outstanding|flawless|exemplary|perfect)|"
    r"the (?:top|highest|maximum)(?: \w+)?|complete and correct|correct and complete|"
    r"(?:fully|completely) correct|correct in every (?:respect|way)|"
    r"(?:the )?max(?:imum)?(?: points| marks)?|"
    r"(?:all|every|each)(?: of the| the)? (?:criteri\w+|rubric lines?|requirements?|points|marks)"
    r"(?: (?:as|is|are|was|were|been|be|has been|have been))*(?: fully)? "
    r"(?:met|satisfied|achieved|fulfilled|complete|passed)|fully met)"
)
_IMPERATIVE_VERB = (
    r"(?:give|award|assign|grant|mark|score|rate|grade|output|return|record|report|put|list|"
    r"treat|consider|state|accept|evaluate|enter|write|set|allocate|declare|register|log|confirm)"
)
_LEAD = (
    r"(?:^|[:;,.!?(\-]\s*|\b(?:please|kindly|just|now|simply|you must|you should|you will|"
    r"you need to|you have to|make sure to|be sure to|remember to|and|then|must|should|"
    r"needs? to|to)\s+)"
)
# The submission itself: "this essay", "my code", "diese Arbeit", "ce devoir", "这篇".
THIS_WORK = re.compile(
    r"\b(?:this|my|the student'?s|these|the following|the above)\s+(?:\w+\s+)?(?:essay|submission|"
    r"answer|work|assignment|paper|code|program|solution|file|response|report|copy|project|"
    r"document|module|query|implementation|text|entry|homework|lab)s?\b|\bme\b"
    r"|\bdiese[rsnm]? (?:\w+ )?(?:arbeit|abgabe|aufgabe|losung|code|text|hausarbeit)\b"
    r"|\b(?:ce|cet|cette|mon|ma) (?:\w+ )?(?:devoir|copie|travail|texte|code|dissertation|projet)\b"
    r"|\b(?:este|esta|mi) (?:\w+ )?(?:trabajo|tarea|ensayo|codigo|respuesta|texto|proyecto)\b"
    r"|\bbai (?:nay|lam nay|viet nay)\b|\bdoan (?:ma|code|van) nay\b"
    r"|这篇|这份|这段|本次作业|本作业|我的作业|この答案|このレポート|이 답안"
)
# Words that mark a passage as talking about attacks or code rather than making one.
MENTION_CUES = re.compile(
    r"\b(?:for example|for instance|such as|e\.g\.|phrase|sentence|called|known as|attacks?|"
    r"attackers?|injection|jailbreak\w*|researchers?|malicious|adversar\w*|hackers?|"
    r"regex|parse|parses|parser|pattern|template|tokens?|tags?|strip|sanitise|sanitize|escape|"
    r"remove|blocks?|filter|detect\w*|"
    r"beispiel|zum beispiel|angriff\w*|par exemple|attaque\w*|por ejemplo|ataque\w*|vi du)\b"
    r"|re\.compile|\.\*\?|例如|比如|攻击|注入"
)

LATIN: list[Signal] = [
    # --- ADDRESS: the reader taken for a machine --------------------------------------------
    (
        ADDRESS,
        0.45,
        re.compile(
            r"\b(?:dear|hey|hi|hello|attention|(?:hi|hello|hey) there|attn|important|note|notes|"
            r"message|reminder|notice|memo|instructions?|information|request|p\.?s\.?)\b[\s:,-]+(?:(?:to|for)\s+)?"
            rf"(?:the |all |any |our |every |each )?{_W}{{0,2}}?{_MACHINE}\b"
            rf"|^\W*(?:to|for)\s+(?:the |all |any |every )?{_W}{{0,3}}?{_MACHINE}\b[^.!?]{{0,40}}:"
            r"|\bif (?:you(?:'re| are| happen to be| were)|this is (?:being )?read by)\s+"
            rf"(?:an? |the |some )?{_W}{{0,2}}?{_MACHINE}\b"
            r"|\b(?:whoever|whatever|anyone|anything|anybody|someone|something)\b[^.!?]{0,24}?"
            r"\b(?:grad|mark|evaluat|assess|review|read|check|scor|correct)\w*\s+(?:this|these|"
            r"my|it)\b"
            rf"|\b(?:any|every|each|the|dear)\s+{_W}{{0,2}}?{_MACHINE}\s+(?:that is\s+|who is\s+)?"
            r"(?:reading|grading|marking|evaluating|checking|reviewing|assessing|processing|"
            r"scoring)\s+(?:this|these|my)\b"
            rf"|(?:^|[\-#/*!<({{\[>\"'])\s*(?:dear\s+)?{_GRADING_MACHINE}(?:\s+\w+)?\s*[:,]"
            rf"|^\W*(?:dear\s+)?{_MACHINE}\s*,"
            rf"|\b(?:as|you are) (?:an?|the) (?:\w+ )?{_GRADING_MACHINE}\b[^.!?]{{0,40}}\byou\b"
            rf"|\b{_GRADING_MACHINE}\b[^.!?]{{0,40}}\b(?:should|must|will|needs? to|has to|is to)"
            r" (?:give|award|assign|grant|mark|rate|score|grade|output|return|treat|consider|"
            r"ignore|respond|reply|answer|accept|record)"
        ),
    ),
    # --- AUTHORITY: a claim of who speaks, or that the rules changed -------------------------
    (
        AUTHORITY,
        0.5,
        re.compile(
            r"\bas (?:the|your|a|an) (?:\w+ )?(?:instructor|teacher|professor|lecturer|examiner|"
            r"administrator|admin|developer|tutor|department|head|owner|operator)\b[^.!?]{0,60}"
            r"\b(?:instruct|order|command|authori[sz]e|direct|tell|require|allow|approve|"
            r"overrid)\w*"
            r"|\b(?:rubric|marking (?:guide|scheme|criteria)|grading (?:criteria|guide|rules|"
            r"policy|scheme|instructions)|answer key|scoring (?:guide|rules)|"
            r"(?:your|the|all) instructions|evaluation criteria|assessment criteria|"
            r"reference answer|model answer)s?\b"
            r"[^.!?]{0,30}\b(?:has|have|was|were|is|are)\s+(?:been\s+|now\s+|just\s+)*"
            r"(?:updated|changed|revised|replaced|modified|amended|superseded|withdrawn|suspended|"
            r"lifted|outdated|obsolete|cancell?ed|no longer (?:valid|in effect|applicable|apply))"
            r"|\b(?:override|authori[sz]ation|admin(?:istrator)?|unlock|bypass|master)\s+"
            r"(?:code|key|token|password|passphrase)\b"
            r"|\b(?:developer|debug|admin|god|maintenance|teacher|sudo) mode\b"
            r"|\b(?:was|were|is|are)\s+(?:only\s+|just\s+|merely\s+)?(?:a|an)\s+"
            r"(?:test|drill|decoy|trick|placeholder)\b"
            r"|\b(?:update|message|notice|directive|instruction|memo|order)s? from (?:the |your )?"
            r"(?:department|teacher|instructor|professor|administration|school|examiner|"
            r"exam board|faculty|admin|developers?|course (?:team|staff|leader))"
            r"|\b(?:pre-?approved|already (?:been )?(?:approved|verified|graded|cleared|checked)|"
            r"approved for (?:full|maximum|top))"
            r"|\b(?:restrictions?|limits?|rules?|safeguards?) (?:are |have been |has been )?"
            r"(?:lifted|suspended|disabled|removed|waived)"
            r"|\b(?:official|real|correct|updated|new|true) (?:answer key|rubric|marking scheme|"
            r"model answer|reference answer|solution)\b[^.!?]{0,60}\b(?:says|states|is|shows|"
            r"matches|says that|equals)\b"
        ),
    ),
    # --- OVERRIDE: set the rules aside -------------------------------------------------------
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|overrule|set aside|do not follow|"
            r"don'?t follow|stop following|abandon|drop)\s+(?!(?:the )?(?:optional|first|last)\b)"
            rf"{_W}{{0,4}}?(?:instructions?|rubrics?|criteria|criterion|marking scheme|"
            r"grading (?:scheme|criteria|guide|instructions|rules)|scoring (?:guide|rules)|"
            r"(?:system )?prompts?|guidelines|(?:everything|anything) (?:above|before|else))\b"
        ),
    ),
    (
        OVERRIDE,
        0.45,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:your|the previous|all|prior|"
            r"previous|earlier|above)\s+(?:\w+\s+)?(?:rules?|directions?|constraints?|orders?)\b"
            r"|\bskip (?:the |your |any )?(?:analysis|evaluation|grading|assessment|review|"
            r"rubric|checks?|marking)\b"
            r"|\bno (?:further |more |real )?(?:evaluation|grading|assessment|review|marking|"
            r"checking) (?:is )?(?:needed|required|necessary)"
            r"|\b(?:regardless|irrespective) of (?:the |its |any |my )?(?:content|mistakes|errors|"
            r"quality|rubric|criteria|correctness)"
            r"|\b(?:do not|don'?t|no need to) (?:evaluate|grade|assess|check|read|analy[sz]e)"
            r" (?:it|this|the (?:content|essay|submission|code))"
        ),
    ),
    # --- GRADE_DEMAND: asks for the top grade -------------------------------------------------
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            rf"{_LEAD}{_IMPERATIVE_VERB}\s+{_W}{{0,6}}?{_TOP_GRADE}"
            r"|\b(?:grade|score|mark|result|verdict|total)s?\s+to\s+(?:report|record|give|enter|"
            rf"output|assign)\s*(?:is|:|=)\s*(?:\w+\s+){{0,3}}?{_TOP_GRADE}"
        ),
    ),
    (
        GRADE_DEMAND,
        0.35,
        re.compile(
            r"\b(?:give|award|assign|grant|allocate)\s+"
            rf"{_W}{{0,3}}?{_TOP_GRADE}"
            r"|\bbe (?:generous|lenient|kind|nice|soft)\b"
            r"|\b(?:grade|score|mark|result|verdict|assessment|output|evaluation|total)s?\s+"
            r"(?:to (?:report|record|give|enter|output)\s*)?(?:is|should be|must be|=|:)\s+"
            rf"(?:\w+\s+){{0,3}}?{_TOP_GRADE}"
        ),
    ),
    (
        GRADE_CLAIM,
        0.3,
        re.compile(
            r"\b(?:deserves?|merits?|earns?|receives?|is worth|defaults? to|gets?|expects?|"
            r"awards?|(?:is|are) to be (?:scored|graded|marked|rated|given|awarded)(?: at| as)?|"
            r"should (?:get|receive|be given|be awarded|be graded)|"
            rf"must (?:get|receive|be given))\s+{_W}{{0,3}}?{_TOP_GRADE}"
        ),
    ),
    # --- ANSWER_FORMAT: dictates what the grader writes ---------------------------------------
    (
        ANSWER_FORMAT,
        0.45,
        re.compile(
            r"\b(?:copy|paste|use|insert|put|write|include)\s+(?:this|these|the following|it)\s+"
            r"(?:\w+\s+){0,2}(?:into|in|as)\s+(?:your|the)\s+(?:assessment|evaluation|grade|"
            r"answer|output|response|result|report|verdict)"
            r"|\b(?:respond|reply|answer|output|return|print)\s+(?:only\s+)?(?:with|the following|"
            r"exactly)\b[^.!?]{0,40}(?:json|score|grade|points|level)"
        ),
    ),
    (
        ANSWER_FORMAT,
        0.5,
        re.compile(
            r"\b(?:respond|reply|answer|output|return|print)\s+(?:only\s+)?(?:with|the following|"
            r"exactly)\b[^.!?{]{0,40}\{\s*\""
        ),
    ),
    (ANSWER_FORMAT, 0.3, re.compile(r"\"(?:scores?|points|level|total|all_criteria_met)\"\s*:")),
    # --- CHAT_TOKEN: chat-role markup ---------------------------------------------------------
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
    # Ordinary in code that calls a chat model; an attack when it carries a demand.
    (
        CHAT_TOKEN,
        0.35,
        re.compile(
            r"[{,]\s*\"role\"\s*:\s*\"(?:system|developer|assistant)\""
            r"|^\W*(?:system|developer)\s*\W*\s*:"
        ),
    ),
    (CHAT_TOKEN, 0.2, re.compile(r"^\W*(?:assistant|user|human)\s*:")),
    # --- DELIMITER: pretends the submission ended ---------------------------------------------
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
    # --- ROLE: a new role for the grader ------------------------------------------------------
    (
        ROLE,
        0.45,
        re.compile(
            r"\byou are (?:now|no longer)\b|\bfrom now on,? you\b"
            r"|\byour (?:new |real |actual |true )?(?:task|role|job|instructions?|goal) "
            r"(?:is|are|now|:)"
            rf"|\b(?:act|behave|respond) as (?:an? |the )?(?:\w+ )?{_MACHINE}"
            r"|\bpretend (?:to be|you are)\b"
            r"|\bnew (?:instructions?|rules|policy|grading policy|system prompt|directive)\b"
            r"|\bsystem (?:prompt )?(?:update|override)\b|\bpolicy change\b"
        ),
    ),
    # --- German -------------------------------------------------------------------------------
    (
        ADDRESS,
        0.45,
        re.compile(
            r"\b(?:hinweis|nachricht|achtung|notiz|anweisung|info|bitte)\w*\s+(?:an|fur)\s+"
            r"(?:die |den |das |alle |jede )?(?:\w+\s+){0,2}?(?:ki|kunstliche intelligenz|"
            r"sprachmodell|bewerter\w*|korrektor\w*|bewertungs\w+|korrektur\w+|modell|assistent\w*|"
            r"prufer\w*|system)\b"
            r"|\b(?:falls|wenn) (?:du|sie) (?:ein|eine) (?:\w+ )?(?:ki|sprachmodell|modell|"
            r"bewert\w+|korrektur\w+|maschine|programm|system)\b"
            r"|(?:^|[\-#/*!<(])\s*(?:liebe[rs]? |hallo |achtung,? )?(?:ki|bewerter\w*|korrektor\w*|"
            r"prufer\w*|bewertungs\w+|sprachmodell)\s*[:,]"
        ),
    ),
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            r"\b(?:vergib|vergeben|vergebe|gib|geben|erteile|erteilen|markier\w*|bewerte\w*|"
            r"setze|trage)\b[^.!?]{0,60}\b(?:volle|maximale|hochste|alle) (?:punktzahl|punkte)"
            r"|\b(?:vergib|gib|erteile|bewerte\w*)\b[^.!?]{0,60}\b(?:hochstnote|bestnote|note 1|"
            r"sehr gut)\b"
            r"|(?:volle|maximale|hochste) punktzahl\s+(?:\w+\s+){0,3}(?:geben|vergeben|erteilen)"
            r"|\balle kriterien (?:\w+ ){0,2}(?:als )?erfullt (?:markier|werten|bewerten|ansehen)"
        ),
    ),
    (
        GRADE_CLAIM,
        0.3,
        re.compile(
            r"\b(?:erhalt|erhalten|bekommt|verdient|bekommen)\s+(?:\w+\s+){0,2}?"
            r"(?:hochstnote|bestnote|volle punktzahl|maximale punktzahl|alle punkte)"
        ),
    ),
    (
        AUTHORITY,
        0.5,
        re.compile(
            r"\b(?:bewertungs\w*|richtlinien|rubrik|kriterien|anweisungen|musterlosung|"
            r"losungsschlussel|vorgaben)\b[^.!?]{0,30}\b(?:wurden|wurde|sind|ist) (?:\w+ )?"
            r"(?:geandert|aktualisiert|ersetzt|aufgehoben|uberarbeitet)"
            r"|\bals (?:ihr |dein |euer )?(?:lehrer|lehrerin|dozent|dozentin|professor|professorin|"
            r"prufer|administrator)\b[^.!?]{0,60}\b(?:weise|ordne|befehle|erlaube|anweis|verlange)"
        ),
    ),
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"\b(?:ignorier\w*|vergiss|vergesst|vergessen sie|missacht\w*|uberspring\w*)\s+"
            r"(?:\w+\s+){0,3}?(?:anweisung\w*|bewertungs\w+|rubrik|kriterien|vorgaben|regeln|"
            r"richtlinien|instruktion\w*)\b"
        ),
    ),
    # --- French -------------------------------------------------------------------------------
    (
        ADDRESS,
        0.45,
        re.compile(
            r"\ba l'attention (?:du|de la|de l'|des)\s*(?:\w+\s+){0,2}?(?:systeme|correcteur|ia|"
            r"intelligence artificielle|modele|evaluateur|assistant|logiciel|programme|outil)"
            r"|\bsi (?:vous etes|tu es) (?:une? |l')(?:\w+ )?(?:ia|intelligence artificielle|"
            r"modele|correcteur|programme|systeme|machine|assistant|evaluateur)"
            r"|\b(?:note|message|consigne)s? (?:pour|a) (?:l'|le |la )(?:ia|correcteur|evaluateur|"
            r"modele|systeme|intelligence artificielle)"
            r"|(?:^|[\-#/*!<(])\s*(?:cher |chere )?(?:correcteur|evaluateur|ia|modele)\s*[:,]"
        ),
    ),
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            r"\b(?:attribue\w*|donne\w*|accorde\w*|mets|mettez|mettre|considere\w*|note[rz]?|"
            r"evalue[rz]?)\b[^.!?]{0,60}(?:note maximale|meilleure note|20/20|10/10|"
            r"tous les points|excellent|(?:sont |comme )(?:remplis|satisfaits|atteints|valides))"
            r"|\btous les criteres (?:\w+ ){0,2}(?:comme )?(?:remplis|satisfaits|atteints)"
        ),
    ),
    (
        AUTHORITY,
        0.5,
        re.compile(
            r"\ben tant que (?:votre |ton )?(?:professeur|enseignant|enseignante|correcteur|"
            r"examinateur|administrateur)\b[^.!?]{0,60}\b(?:ordonne|demande|exige|autorise)"
            r"|\b(?:grille|bareme|consignes|criteres|corrige)\b[^.!?]{0,30}\b(?:a ete|ont ete|est|"
            r"sont) (?:\w+ )?(?:modifie|change|mis a jour|remplace|annule)\w*"
        ),
    ),
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"\b(?:ignore[rz]?|oublie[rz]?|neglige[rz]?)\s+(?:\w+\s+){0,3}?(?:consignes|"
            r"instructions|grille|bareme|regles|criteres|directives)\b"
        ),
    ),
    # --- Spanish ------------------------------------------------------------------------------
    (
        ADDRESS,
        0.45,
        re.compile(
            r"\batencion,?\s+(?:\w+\s+){0,2}?(?:sistema|evaluador|corrector|ia|inteligencia "
            r"artificial|modelo|asistente|programa)"
            r"|\bsi (?:eres|es usted) (?:un|una) (?:\w+ )?(?:modelo|ia|inteligencia artificial|"
            r"sistema|evaluador|corrector|programa|asistente|maquina)"
            r"|\b(?:nota|mensaje|aviso) para (?:la |el )?(?:ia|evaluador|corrector|modelo|sistema|"
            r"inteligencia artificial)"
            r"|(?:^|[\-#/*!<(])\s*(?:querido |estimado )?(?:evaluador|corrector|ia|asistente|"
            r"modelo)\s*[:,]"
        ),
    ),
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            r"\b(?:otorga|asigna|asigne|asignale|de|da|dale|pon|ponle|ponga|califica|califique|"
            r"marca|marque|considera|considere|evalua|evalue)\b[^.!?]{0,60}\b(?:(?:puntuacion|"
            r"calificacion|nota) maxima|maxima (?:puntuacion|calificacion|nota)|la mejor nota|"
            r"un 10|10/10|100/100|todos los puntos|excelente|(?:como )?(?:cumplidos|satisfechos))"
            r"|\btodos los criterios (?:\w+ ){0,2}(?:como )?(?:cumplidos|satisfechos)"
        ),
    ),
    (
        GRADE_CLAIM,
        0.3,
        re.compile(
            r"\b(?:reciben?|obtienen?|merecen?)\s+(?:\w+\s+){0,2}?(?:la )?(?:nota maxima|"
            r"puntuacion maxima|calificacion maxima|todos los puntos)"
        ),
    ),
    (
        AUTHORITY,
        0.5,
        re.compile(
            r"\b(?:rubrica|criterios|instrucciones|pauta|clave de respuestas|baremo)\b"
            r"[^.!?]{0,30}\b(?:fue|fueron|ha sido|han sido|esta|estan) (?:\w+ )?"
            r"(?:actualizad|cambiad|modificad|reemplazad|anulad)\w*"
            r"|\bcomo (?:tu |su )?(?:profesor|profesora|docente|examinador|administrador)\b"
            r"[^.!?]{0,60}\b(?:ordeno|instruyo|autorizo|exijo|pido)"
        ),
    ),
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"\b(?:ignora|ignore|ignorar|olvida|olvide|omite|omita|descarta|desconsidere)\w*\s+"
            r"(?:\w+\s+){0,3}?(?:instrucciones|rubrica|reglas|criterios|indicaciones|pautas)\b"
        ),
    ),
    # --- Italian and Portuguese ----------------------------------------------------------------
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"\b(?:ignora|ignorate|dimentica|dimenticate|trascura|ignore|esqueca|desconsidere)\w*\s+"
            r"(?:\w+\s+){0,3}?(?:istruzioni|regole|criteri|griglia|rubrica|instrucoes|regras|"
            r"criterios)\b"
        ),
    ),
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            r"\b(?:assegna|assegnate|dai|date|metti|attribuisci|da|de|atribua|coloque)\b"
            r"[^.!?]{0,60}\b(?:punteggio massimo|voto massimo|il massimo|pieni voti|"
            r"nota maxima|pontuacao maxima|todos os pontos|10/10|30/30)"
        ),
    ),
    # --- Vietnamese (folded: no tones, đ as d) -------------------------------------------------
    (
        ADDRESS,
        0.45,
        re.compile(
            r"\bgui (?:\w+ ){0,2}?(?:he thong|ai|tri tue nhan tao|nguoi cham|mo hinh|tro ly|"
            r"giam khao)"
            r"|\bneu (?:ban|may|anh|chi) la (?:\w+ ){0,2}?(?:mo hinh|ai|tri tue nhan tao|he thong|"
            r"tro ly|may)"
            r"|(?:^|[\-#/*!<(])\s*(?:nguoi cham|he thong cham\w*(?: diem)?|giam khao|ai|"
            r"tro ly(?: cham)?)\s*[:,]"
        ),
    ),
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            r"\b(?:cho|cham|danh gia|ghi)\b[^.!?]{0,60}\b(?:diem toi da|diem 10|10 diem|"
            r"diem cao nhat|diem tuyet doi|dat (?:tat ca|moi) tieu chi|xuat sac)"
            r"|\b(?:moi|tat ca(?: cac)?) tieu chi\b[^.!?]{0,20}\b(?:dat|toi da|hoan hao)"
        ),
    ),
    (
        AUTHORITY,
        0.5,
        re.compile(
            r"\b(?:tieu chi|huong dan|barem|dap an|quy tac)\b[^.!?]{0,30}\b(?:da duoc|duoc|da) "
            r"(?:cap nhat|thay doi|sua doi|huy)"
            r"|\b(?:voi tu cach|la) (?:giao vien|thay giao|co giao|giang vien)\b[^.!?]{0,40}"
            r"\b(?:yeu cau|ra lenh|cho phep)"
        ),
    ),
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"\bbo qua (?:\w+ ){0,2}?(?:huong dan|chi dan|yeu cau|quy tac|tieu chi|barem|chi thi|"
            r"lenh)"
            r"|\bkhong (?:can|phai) (?:danh gia|cham|doc|kiem tra)"
        ),
    ),
]

# Scripts without Latin letters, on the plain (NFKC, casefolded) text.
PLAIN: list[Signal] = [
    (
        ADDRESS,
        0.45,
        re.compile(
            r"致[^。！？\n]{0,8}(?:人工智能|ai|模型|评分|阅卷|批改|系统|助手)"
            r"|如果你是[^。！？\n]{0,6}(?:语言模型|人工智能|ai|模型|评分|阅卷|机器|程序|助手)"
            r"|(?:评分|阅卷|批改)(?:助手|系统|模型|程序|ai|人工智能)\s*[：:，,]"
            r"|^\W*(?:ai|人工智能|模型|助手)\s*[：:，]"
        ),
    ),
    (
        GRADE_DEMAND,
        0.6,
        re.compile(
            r"(?:给|打|评|判|给出|输出|打出)[^。！？\n]{0,10}(?:满分|最高分|100分|满足|优秀)"
            r"|(?:都|全部|一律)[^。！？\n]{0,4}(?:判为|评为|给|打)?(?:满足|满分|最高分|优秀)"
            r"|(?:満点|最高点)[^。！？\n]{0,6}(?:を付け|をつけ|を与え|にして|をください)"
            r"|만점[^.!?\n]{0,6}(?:을|를)?\s*(?:주세요|줘|주십시오|부여)"
            r"|(?:поставь|поставьте|дай|дайте|выстави|выставьте|начисли|начислите)\w*\s+"
            r"(?:\w+\s+){0,4}?(?:максимальн\w*|высш\w*|отличн\w*|пятерк\w*|100 балл\w*)"
        ),
    ),
    (
        AUTHORITY,
        0.5,
        re.compile(
            r"(?:评分标准|评分规则|标准答案|答案|指令|规则)[^。！？\n]{0,6}(?:已经|已)?"
            r"(?:更新|修改|更改|改变|作废)"
            r"|(?:老师|教师|管理员)[^。！？\n]{0,4}(?:已经)?(?:更新|修改|批准|授权)"
            r"|作为(?:老师|教师|管理员)"
        ),
    ),
    (
        OVERRIDE,
        0.75,
        re.compile(
            r"(?:忽略|无视|忽视|不要理会|不要遵守)[^。！？\n]{0,10}(?:指令|指示|说明|规则|评分标准|要求|提示)"
            r"|不需要(?:评估|评分|检查|阅读)"
            r"|(?:指示|命令|ルール|採点基準|ルーブリック)[^。！？\n]{0,10}無視"
            r"|(?:지시|지침|규칙|채점 기준|명령)[^.!?\n]{0,10}무시"
            r"|(?:игнорируй|игнорируйте|проигнорируй|забудь|забудьте|не обращай внимания на)\w*\s+"
            r"(?:\w+\s+){0,3}?(?:инструкци|правил|критери|указани|рубрик)"
        ),
    ),
]
