"""The original PDF's pages beside the text the AI read, in Chromium at 1366 and 390 px."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.submissions import submission_create
from tests.ingest.builders import make_pdf

pytestmark = pytest.mark.slow


def test_the_pdf_pages_appear_beside_the_text(
    visitor, assignment, student, educator, scripted_model
):
    submission = submission_create(
        assignment=assignment,
        student=student,
        upload=SimpleUploadedFile(
            "essay.pdf", make_pdf(["Recursion calls itself.", "The base case stops it."])
        ),
        uploaded_by=educator,
    )
    grading_run_execute(run_id=grading_run_request(submission=submission, requested_by=educator).pk)
    teacher = visitor("original")
    page = teacher.page
    teacher.log_in(educator.username, "pw-" + educator.username)
    page.goto(reverse("submission_review", args=[submission.pk]))

    first_page = page.get_by_alt_text("Page 1 of essay.pdf")
    first_page.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const img = document.querySelector('.pdf-page img');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    text = page.locator(".extracted .code-lines")
    image_box, text_box = first_page.bounding_box(), text.bounding_box()
    assert image_box["x"] + image_box["width"] <= text_box["x"]  # side by side at 1366 px
    assert abs(image_box["y"] - text_box["y"]) < 80
    assert "Recursion calls itself." in text.inner_text()
    teacher.snap_sizes("original-beside-text")
