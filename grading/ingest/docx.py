"""DOCX: every paragraph's text with python-docx's XML, hidden text included and reported.

Text a reader cannot see — hidden (vanish), white or near-white, or too small to read — is a known
way to slip instructions past a human to a model. It stays in the extracted text (the model sees
the document as it is and the educator can read it there), and each hidden passage is returned
so the submission can be flagged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import qn

from grading.errors import ApplicationError
from grading.ingest.archive import ArchiveLimits, check_zip_limits

MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Parts besides the body whose text a reader (and so a student) can put words into.
EXTRA_PARTS = (RT.HEADER, RT.FOOTER, RT.FOOTNOTES, RT.ENDNOTES, RT.COMMENTS)
FALSE_VALUES = frozenset({"0", "false", "off"})
NEAR_WHITE_MIN_CHANNEL = 0xF0  # every RGB channel this high reads as white on white paper
TINY_HALF_POINTS = 4  # w:sz counts half-points: 2 pt and below is unreadable
VISIBLE_BACKGROUND_NONE = frozenset({"", "auto", "none", "clear", "white", "ffffff"})
MAX_HIDDEN_PASSAGES = 20
MAX_PASSAGE_CHARS = 500
MAX_STYLE_CHAIN = 20  # basedOn chains are short; a loop in a crafted file must still end


@dataclass
class DocxText:
    text: str
    hidden_passages: list[str] = field(default_factory=list)


def extract_docx_text(name: str, content: bytes, *, limits: ArchiveLimits) -> DocxText:
    """Paragraph text of the body, then headers, footers, notes and comments.

    A DOCX is a ZIP package: the archive limits apply first, so a bomb is never parsed.
    """
    check_zip_limits(name, content, limits=limits)
    try:
        document = Document(io.BytesIO(content))
        styles = _Styles(document.styles.element)
        roots = [document.element.body]
        for rel in document.part.rels.values():
            if rel.reltype in EXTRA_PARTS and not rel.is_external:
                roots.append(parse_xml(rel.target_part.blob))
    except ApplicationError:
        raise
    except Exception:  # noqa: BLE001
        # python-docx and lxml raise many types on a damaged package; all mean "malformed".
        raise ApplicationError(
            f"{name}: the Word document is damaged and cannot be read; save it again as .docx."
        ) from None
    result = DocxText(text="")
    blocks: list[str] = []
    for root in roots:
        for paragraph in root.iter(qn("w:p")):
            if _inside(paragraph, MC_FALLBACK):
                continue  # the same text box, drawn again for old readers
            text, hidden = _paragraph_text(paragraph, styles)
            blocks.append(text)
            for passage in hidden:
                if len(result.hidden_passages) < MAX_HIDDEN_PASSAGES:
                    result.hidden_passages.append(passage[:MAX_PASSAGE_CHARS])
    result.text = "\n".join(blocks).strip("\n")
    return result


def _paragraph_text(paragraph, styles: _Styles) -> tuple[str, list[str]]:
    """The paragraph's own text (not that of text boxes inside it) and its hidden passages."""
    paragraph_style = paragraph.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
    paragraph_style_id = paragraph_style.get(qn("w:val")) if paragraph_style is not None else None
    pieces: list[str] = []
    hidden: list[str] = []
    current_hidden: list[str] = []
    for run in paragraph.iter(qn("w:r")):
        if _nearest_paragraph(run) is not paragraph or _inside(run, MC_FALLBACK):
            continue
        text = _run_text(run)
        if not text:
            continue
        pieces.append(text)
        if styles.run_is_hidden(run, paragraph_style_id):
            current_hidden.append(text)
        elif current_hidden:
            hidden.append("".join(current_hidden))
            current_hidden = []
    if current_hidden:
        hidden.append("".join(current_hidden))
    return "".join(pieces), [passage.strip() for passage in hidden if passage.strip()]


def _run_text(run) -> str:
    out = []
    for child in run:
        if child.tag == qn("w:t"):
            out.append(child.text or "")
        elif child.tag == qn("w:tab"):
            out.append("\t")
        elif child.tag in (qn("w:br"), qn("w:cr")):
            out.append("\n")
        elif child.tag == qn("w:noBreakHyphen"):
            out.append("-")
    return "".join(out)


def _nearest_paragraph(element):
    parent = element.getparent()
    while parent is not None and parent.tag != qn("w:p"):
        parent = parent.getparent()
    return parent


def _inside(element, tag: str) -> bool:
    parent = element.getparent()
    while parent is not None:
        if parent.tag == tag:
            return True
        parent = parent.getparent()
    return False


class _Styles:
    """Run properties as Word resolves them: direct formatting, then the run's character style,
    then the paragraph's style, each following its basedOn chain."""

    def __init__(self, styles_element) -> None:
        self._by_id = {
            style.get(qn("w:styleId")): style for style in styles_element.iter(qn("w:style"))
        }

    def run_is_hidden(self, run, paragraph_style_id: str | None) -> bool:
        run_properties = run.find(qn("w:rPr"))
        run_style = run_properties.find(qn("w:rStyle")) if run_properties is not None else None
        sources = [run_properties]
        if run_style is not None:
            sources += self._chain(run_style.get(qn("w:val")))
        sources += self._chain(paragraph_style_id)

        def first(tag: str):
            for properties in sources:
                if properties is not None and (found := properties.find(qn(tag))) is not None:
                    return found
            return None

        for tag in ("w:vanish", "w:specVanish", "w:webHidden"):
            flag = first(tag)
            if flag is not None and flag.get(qn("w:val"), "true").lower() not in FALSE_VALUES:
                return True
        size = first("w:sz")
        if size is not None and _int(size.get(qn("w:val"))) <= TINY_HALF_POINTS:
            return True
        color = first("w:color")
        if color is not None and _near_white(color.get(qn("w:val"), "")):
            return not _has_visible_background(first("w:highlight"), first("w:shd"))
        return False

    def _chain(self, style_id: str | None) -> list:
        chain = []
        seen: set[str] = set()
        while style_id and style_id not in seen and len(chain) < MAX_STYLE_CHAIN:
            seen.add(style_id)
            style = self._by_id.get(style_id)
            if style is None:
                break
            chain.append(style.find(qn("w:rPr")))
            based_on = style.find(qn("w:basedOn"))
            style_id = based_on.get(qn("w:val")) if based_on is not None else None
        return chain


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return TINY_HALF_POINTS + 1  # unreadable size attribute: treat as normal text


def _near_white(hex_color: str) -> bool:
    if len(hex_color) != 6:
        return False
    try:
        channels = [int(hex_color[i : i + 2], 16) for i in (0, 2, 4)]
    except ValueError:
        return False
    return all(channel >= NEAR_WHITE_MIN_CHANNEL for channel in channels)


def _has_visible_background(highlight, shading) -> bool:
    """White text on a coloured highlight or shading is readable."""
    if highlight is not None and highlight.get(qn("w:val"), "").lower() not in (
        VISIBLE_BACKGROUND_NONE
    ):
        return True
    if shading is not None:
        fill = shading.get(qn("w:fill"), "").lower()
        return fill not in VISIBLE_BACKGROUND_NONE and not _near_white(fill)
    return False
