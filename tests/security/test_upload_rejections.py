"""Issue 8, uploads: each dangerous or broken upload is refused with a clear reason shown on the
page, and nothing of it is stored — no row, no file on disk.

Every case goes through the upload page, the way an educator's browser sends it.
"""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import Submission, UnmatchedUpload
from tests.conftest import client_for
from tests.ingest.builders import make_docx, make_pdf, make_zip

pytestmark = pytest.mark.django_db


@pytest.fixture
def post_upload(light_tasks):
    """post_upload(assignment, educator, files, student=…) → the page the educator ends on:
    the form with its error, or the result page once the light worker read the files."""

    def post(assignment, educator, files, *, student=None) -> str:
        data = {"files": [SimpleUploadedFile(name, content) for name, content in files.items()]}
        if student is not None:
            data["student"] = student.pk
        client = client_for(educator)
        with light_tasks():
            response = client.post(reverse("submission_upload", args=[assignment.pk]), data)
        if response.status_code == 302:
            response = client.get(response.url)
        assert response.status_code == 200
        return html.unescape(response.content.decode())

    return post


def assert_nothing_stored(settings) -> None:
    assert not Submission.objects.exists()
    assert not UnmatchedUpload.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_a_zip_bomb_over_the_total_limit_is_refused(assignment, educator, settings, post_upload):
    settings.AAIE_MAX_ZIP_TOTAL_BYTES = 1_000_000
    bomb = make_zip({f"student-{i}.txt": b"a" * 400_000 for i in range(3)})
    page = post_upload(assignment, educator, {"class.zip": bomb})
    assert "class.zip: the ZIP would unpack to 1,200,000 bytes; the limit is 1,000,000" in page
    assert_nothing_stored(settings)


def test_a_zip_bomb_over_the_ratio_limit_is_refused(assignment, educator, settings, post_upload):
    bomb = make_zip({"student.txt": b"\0" * 2_000_000})  # ~2 KB that inflates 1000-fold
    page = post_upload(assignment, educator, {"class.zip": bomb})
    assert "more than the limit of 100 to 1 (a ZIP bomb?)" in page
    assert_nothing_stored(settings)


def test_a_path_traversal_member_is_refused(assignment, educator, settings, post_upload):
    page = post_upload(assignment, educator, {"class.zip": make_zip({"../../student.txt": b"x"})})
    assert "../../student.txt: a path that climbs out of the archive (..)" in page
    assert_nothing_stored(settings)


def test_an_absolute_path_member_is_refused(assignment, educator, settings, post_upload):
    page = post_upload(assignment, educator, {"class.zip": make_zip({"/tmp/student.txt": b"x"})})
    assert "/tmp/student.txt: an absolute path" in page
    assert_nothing_stored(settings)


def test_a_symlink_member_is_refused(assignment, educator, settings, post_upload):
    content = make_zip({}, symlinks={"student.txt": "/etc/passwd"})
    page = post_upload(assignment, educator, {"class.zip": content})
    assert "student.txt: a symbolic link; links are never followed." in page
    assert_nothing_stored(settings)


def test_a_zip_nested_beyond_one_level_is_refused(assignment, educator, settings, post_upload):
    deepest = make_zip({"answer.txt": b"x"})
    content = make_zip({"student.zip": make_zip({"inner.zip": deepest})})
    page = post_upload(assignment, educator, {"class.zip": content})
    assert "inner.zip: a ZIP nested deeper than the one level that is read" in page
    assert_nothing_stored(settings)


def test_a_file_over_the_size_limit_is_refused(
    assignment, educator, student, settings, post_upload
):
    settings.AAIE_MAX_UPLOAD_BYTES = 100
    page = post_upload(assignment, educator, {"big.txt": b"x" * 101}, student=student)
    assert "big.txt: 101 bytes is over the limit of 100 bytes." in page
    assert_nothing_stored(settings)


def test_a_zip_member_over_the_size_limit_is_refused(assignment, educator, settings, post_upload):
    settings.AAIE_MAX_UPLOAD_BYTES = 100
    page = post_upload(assignment, educator, {"class.zip": make_zip({"student.txt": b"y" * 101})})
    assert "student.txt: 101 bytes is over the limit of 100 bytes per file." in page
    assert_nothing_stored(settings)


@pytest.mark.parametrize(
    ("name", "content", "claimed", "found"),
    [
        ("essay.pdf", b"plain text pretending", "a PDF", "text"),
        ("essay.docx", make_pdf(["x"]), "a Word document", "a PDF"),
        ("essay.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "text", "a PNG image"),
        ("class.zip", b"not a zip at all", "a ZIP archive", "text"),
    ],
)
def test_content_that_does_not_match_its_extension_is_refused(
    assignment, educator, student, settings, name, content, claimed, found, post_upload
):
    page = post_upload(assignment, educator, {name: content}, student=student)
    assert f"{name}: the name says {claimed}, but the content is {found}" in page
    assert_nothing_stored(settings)


def test_a_malformed_pdf_is_refused(assignment, educator, student, settings, post_upload):
    broken = make_pdf(["text"])[:60] + b"garbage" * 20
    page = post_upload(assignment, educator, {"essay.pdf": broken}, student=student)
    assert "essay.pdf: the PDF is damaged and cannot be read" in page
    assert_nothing_stored(settings)


def test_a_malformed_docx_is_refused(assignment, educator, student, settings, post_upload):
    broken = make_zip({"[Content_Types].xml": b"<not-xml", "word/document.xml": b"<<<"})
    page = post_upload(assignment, educator, {"essay.docx": broken}, student=student)
    assert "essay.docx: the Word document is damaged and cannot be read" in page
    assert_nothing_stored(settings)


def test_a_truncated_docx_is_refused(assignment, educator, student, settings, post_upload):
    content = make_docx("An essay.")
    page = post_upload(assignment, educator, {"essay.docx": content[:-200]}, student=student)
    assert "essay.docx: the" in page and "damaged" in page
    assert_nothing_stored(settings)


def test_nul_bytes_in_text_are_refused(assignment, educator, student, settings, post_upload):
    page = post_upload(assignment, educator, {"main.py": b"print(1)\x00\x00"}, student=student)
    assert "main.py: this is not a text file (it holds NUL bytes)." in page
    assert_nothing_stored(settings)


def test_an_invalid_encoding_is_refused(assignment, educator, student, settings, post_upload):
    page = post_upload(
        assignment, educator, {"essay.txt": "café".encode("cp1252")}, student=student
    )
    assert "essay.txt: the text is not valid UTF-8 (byte 3); save it as UTF-8." in page
    assert_nothing_stored(settings)
