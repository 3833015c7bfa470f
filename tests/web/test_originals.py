"""The original beside the text: PDF pages as images, DOCX and notebooks laid out (escaped),
evidence named by page, and the file itself only for the course's educators and its owner."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.ingest.preview import pdf_page_png, pdf_page_texts
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.submissions import submission_create
from tests.conftest import client_for
from tests.ingest.builders import make_docx, make_notebook, make_pdf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def upload(assignment, student, educator, name: str, content: bytes):
    return submission_create(
        assignment=assignment,
        student=student,
        upload=SimpleUploadedFile(name, content),
        uploaded_by=educator,
    )


@pytest.fixture
def pdf_submission(assignment, student, educator):
    submission = upload(
        assignment,
        student,
        educator,
        "essay.pdf",
        make_pdf(["Recursion calls itself.", "The base case stops it."]),
    )
    grading_run_execute(run_id=grading_run_request(submission=submission, requested_by=educator).pk)
    submission.refresh_from_db()
    return submission


def test_a_pdf_shows_its_pages_beside_its_text_and_names_the_evidence_page(
    pdf_submission, educator
):
    page = client_for(educator).get(reverse("submission_review", args=[pdf_submission.pk]))
    html = page.content.decode()
    assert "PDF, 2 pages" in html
    for number in (1, 2):
        assert f'src="{reverse("submission_page", args=[pdf_submission.pk, number])}"' in html
        assert f'alt="Page {number} of essay.pdf"' in html
    assert "Recursion calls itself." in html.split('id="text-heading"')[1]  # the text view
    # The scripted model quotes the start of the submission, over the break to page 2.
    assert '<a href="#page-1">page 1–2</a>' in html


def test_a_page_is_a_png_and_a_missing_page_is_not_found(pdf_submission, educator):
    client = client_for(educator)
    image = client.get(reverse("submission_page", args=[pdf_submission.pk, 2]))
    assert image["Content-Type"] == "image/png"
    assert image.content.startswith(PNG_SIGNATURE)
    assert client.get(reverse("submission_page", args=[pdf_submission.pk, 3])).status_code == 404


def test_the_original_downloads_unchanged_for_its_educator_and_owner_only(
    pdf_submission, educator, student, classmate, outsider_educator, admin_user
):
    url = reverse("submission_original", args=[pdf_submission.pk])
    stored = pdf_submission.original_file.open("rb").read()
    for person in (educator, student):
        response = client_for(person).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == stored
        # An attachment of no particular type: the browser never renders an upload as a page.
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"] == 'attachment; filename="essay.pdf"'
    for person in (classmate, outsider_educator, admin_user):
        assert client_for(person).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302


def test_a_word_document_is_laid_out_with_its_text_escaped(assignment, student, educator):
    submission = upload(
        assignment, student, educator, "essay.docx", make_docx("<script>alert(1)</script> ends.")
    )
    html = client_for(educator).get(reverse("submission_review", args=[submission.pk]))
    preview = html.content.decode().split('class="doc-preview"')[1].split("</section>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ends." in preview
    assert "<script>" not in preview


def test_a_notebook_shows_its_cells_and_text_outputs(assignment, student, educator):
    notebook = make_notebook([("markdown", "# Plan"), ("code", "print('<b>hi</b>')")])
    submission = upload(assignment, student, educator, "work.ipynb", notebook)
    html = client_for(educator).get(reverse("submission_review", args=[submission.pk]))
    preview = html.content.decode().split('class="doc-preview"')[1].split("</section>")[0]
    assert "# Plan" in preview
    assert "print(&#x27;&lt;b&gt;hi&lt;/b&gt;&#x27;)" in preview
    assert "OUTPUT-NOT-WANTED" in preview  # the output, shown to the educator as text


def test_the_student_finds_a_download_link_to_their_own_file(pdf_submission, student):
    html = client_for(student).get(reverse("my_submissions")).content.decode()
    assert reverse("submission_original", args=[pdf_submission.pk]) in html


def test_pages_render_from_many_threads_at_once_one_at_a_time_in_pdfium():
    """PDFium is not thread-safe: a threaded server asking for a page's images together once
    crashed the process. Every use goes through one lock, so threads get the same pages."""
    content = make_pdf(["First page text.", "Second page text."])
    expected = [pdf_page_png(content, index=index) for index in range(2)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: pdf_page_png(content, index=n % 2), range(24)))
        texts = list(pool.map(lambda _: pdf_page_texts(content), range(6)))
    assert results == [expected[n % 2] for n in range(24)]
    assert all(pages[0].startswith("First page") for pages in texts)
