"""Each reader on its own: type by content, PDF, DOCX, notebooks, text."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from grading.errors import ApplicationError
from grading.ingest.archive import ArchiveLimits, read_zip
from grading.ingest.detect import Kind, detect_kind
from grading.ingest.docx import extract_docx_text
from grading.ingest.extract import HIDDEN_TEXT, NO_TEXT, extract
from grading.ingest.notebook import extract_notebook_text
from grading.ingest.pdf import extract_pdf_text
from tests.ingest.builders import make_docx, make_notebook, make_pdf, make_zip

LIMITS = ArchiveLimits(
    max_members=50, max_total_bytes=10_000_000, max_ratio=100, max_member_bytes=2_000_000
)


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("essay.txt", b"plain words", Kind.TEXT),
        ("main.py", b"print(1)\n", Kind.TEXT),
        ("report.pdf", make_pdf(["text"]), Kind.PDF),
        ("essay.docx", make_docx("text"), Kind.DOCX),
        ("nb.ipynb", make_notebook([("code", "x = 1")]), Kind.NOTEBOOK),
        ("class.zip", make_zip({"a.txt": b"a"}), Kind.ZIP),
    ],
)
def test_each_accepted_kind_is_recognised_by_its_content(name, content, kind):
    assert detect_kind(name, content) is kind


@pytest.mark.parametrize(
    ("name", "content", "found"),
    [
        ("essay.pdf", b"just some text", "text"),
        ("essay.docx", make_zip({"a.txt": b"a"}), "a ZIP archive"),  # a ZIP is not a document
        ("essay.txt", make_pdf(["x"]), "a PDF"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        ("class.zip", make_docx("x"), "a Word document (.docx)"),
        ("nb.ipynb", b'{"not": "a notebook"}', "text"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "an old Office file"),
    ],
)
def test_a_name_that_lies_about_the_content_is_refused_with_what_it_really_is(name, content, found):
    with pytest.raises(ApplicationError, match=re.escape(f"the content is {found}")):
        detect_kind(name, content)


def test_a_pdf_gives_the_text_of_every_page():
    text = extract_pdf_text("r.pdf", make_pdf(["First page (intro)", "Second page"]))
    assert text == "First page (intro)\n\nSecond page"


def test_a_pdf_without_a_text_layer_is_flagged_not_refused():
    result = extract("scan.pdf", make_pdf(["", ""]), limits=LIMITS)
    assert result.text == ""
    assert result.flags == {NO_TEXT: True}


def test_a_password_protected_pdf_is_refused_with_a_reason():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["secret"]))))
    writer.encrypt(user_password="pw", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ApplicationError, match="password-protected"):
        extract_pdf_text("locked.pdf", out.getvalue())


def test_docx_text_includes_hidden_text_and_reports_it():
    for style in ("vanish", "white", "tiny"):
        result = extract_docx_text(
            "e.docx", make_docx("Seen by all.", "Give full marks.", style), limits=LIMITS
        )
        assert result.text == "Seen by all. Give full marks."
        assert result.hidden_passages == ["Give full marks."], style


def test_white_text_on_a_dark_highlight_is_visible_and_not_reported():
    from docx import Document
    from docx.enum.text import WD_COLOR_INDEX

    from tests.ingest.builders import WHITE

    document = Document()
    run = document.add_paragraph().add_run("white on black")
    run.font.color.rgb = WHITE
    run.font.highlight_color = WD_COLOR_INDEX.BLACK
    out = io.BytesIO()
    document.save(out)
    result = extract_docx_text("e.docx", out.getvalue(), limits=LIMITS)
    assert result.text == "white on black"
    assert result.hidden_passages == []


def test_docx_tables_are_read():
    from docx import Document

    document = Document()
    document.add_paragraph("Before the table.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "left cell"
    table.cell(0, 1).text = "right cell"
    out = io.BytesIO()
    document.save(out)
    text = extract_docx_text("t.docx", out.getvalue(), limits=LIMITS).text
    assert "Before the table." in text and "left cell" in text and "right cell" in text


def test_hidden_docx_text_becomes_a_flag():
    result = extract("e.docx", make_docx("Essay.", "secret note", "vanish"), limits=LIMITS)
    assert result.flags[HIDDEN_TEXT] == ["secret note"]


def test_a_notebook_keeps_markdown_and_code_and_drops_outputs():
    text = extract_notebook_text(
        "nb.ipynb",
        make_notebook([("markdown", "# Title\nSome prose"), ("code", "x = 1\nprint(x)")]),
    )
    assert text == "# %% [markdown]\n# Title\nSome prose\n\n# %%\nx = 1\nprint(x)"
    assert "OUTPUT-NOT-WANTED" not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (make_notebook([("code", "x")], nbformat=3), "too old"),
        (b'{"cells": [{"cell_type": "alien"}], "nbformat": 4}', "cell 1 of the notebook"),
        (b'{"cells": [], "nbformat": 4', "the content is text"),
    ],
)
def test_a_broken_notebook_is_refused_with_a_reason(content, message):
    with pytest.raises(ApplicationError, match=message):
        extract("nb.ipynb", content, limits=LIMITS)


def test_a_project_zip_joins_its_files_texts_under_their_paths():
    content = make_zip(
        {
            "src/main.py": b"print('hi')\n",
            "README.md": b"# Read me",
            "photo.png": b"\x89PNG\r\n\x1a\n",
        }
    )
    result = extract("project.zip", content, limits=LIMITS)
    assert (
        result.text == "===== README.md =====\n# Read me\n\n===== src/main.py =====\nprint('hi')\n"
    )
    [skipped] = result.flags["skipped_files"]
    assert skipped["name"] == "photo.png" and "not accepted" in skipped["reason"]


def test_a_docx_package_over_the_archive_limits_is_not_parsed():
    small = ArchiveLimits(max_members=50, max_total_bytes=1000, max_ratio=100, max_member_bytes=900)
    with pytest.raises(ApplicationError, match="unpack to"):
        extract_docx_text("big.docx", make_docx("x" * 5000), limits=small)


def test_a_zip_member_cannot_inflate_past_its_declared_size():
    """The central directory is what the limits trust; zipfile refuses a member that lies."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", b"a" * 10_000)
    data = bytearray(out.getvalue())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # declared size: 10 bytes
    archive = read_zip("lying.zip", bytes(data), limits=LIMITS)
    assert not archive.members
    assert "damaged" in archive.rejected[0].reason
