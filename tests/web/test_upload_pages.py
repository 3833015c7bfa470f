"""The upload pages: single and multiple files, a class ZIP with a roster, a partly bad ZIP, the
result page with a reason for each file, and the unmatched files waiting to be assigned.

The upload request only stores the originals; the light worker's task (run here by the
`light_tasks` fixture as the request commits) reads them before the result page is shown.
"""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from grading.models import Submission, UnmatchedUpload, UploadBatch
from tests.conftest import client_for
from tests.ingest.builders import make_docx, make_pdf, make_zip

pytestmark = pytest.mark.django_db


def files(**named: bytes) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name.replace("__", "."), content) for name, content in named.items()]


@pytest.fixture
def upload(light_tasks):
    """upload(client, assignment, data) → (response, unescaped page): post the form, let the
    light worker read the files as the request commits, then follow to the result page."""

    def post(client, assignment, data) -> tuple[object, str]:
        with light_tasks():
            response = client.post(reverse("submission_upload", args=[assignment.pk]), data)
        if response.status_code != 302:
            response.redirect_chain = []
            return response, html.unescape(response.content.decode())
        page = client.get(response.url)
        page.redirect_chain = [(response.url, 302)]
        return page, html.unescape(page.content.decode())

    return post


def test_the_form_offers_every_format_a_roster_and_a_progress_bar(assignment, educator):
    page = client_for(educator).get(reverse("submission_upload", args=[assignment.pk]))
    content = page.content.decode()
    assert 'accept=".c,.cc,.cpp' in content and ".docx" in content and ".zip" in content
    assert 'name="roster"' in content and 'enctype="multipart/form-data"' in content
    assert "<progress" in content and "grading/upload.js" in content
    # Progressive enhancement: the bar is hidden until the script shows it; the form posts anyway.
    assert "data-upload-status hidden" in content


def test_one_file_for_a_chosen_student_goes_to_the_result_page(
    assignment, educator, student, upload
):
    response, page = upload(
        client_for(educator),
        assignment,
        {"student": student.pk, "files": files(essay__pdf=make_pdf(["An essay."]))},
    )
    batch = UploadBatch.objects.get()
    assert response.redirect_chain == [(reverse("upload_batch_detail", args=[batch.pk]), 302)]
    assert "1 file(s) uploaded." in page and "1 stored" in page
    assert Submission.objects.get(student=student).text == "An essay."


def test_many_files_are_matched_by_name_and_the_rest_wait_unmatched(
    assignment, educator, student, classmate, upload
):
    _, page = upload(
        client_for(educator),
        assignment,
        {
            "files": files(
                student_essay__docx=make_docx("Mine."),
                classmate__md=b"# Theirs",
                anonymous__txt=b"whose?",
            )
        },
    )
    assert "2 stored" in page and "1 unmatched" in page
    assert "no roster row, username, student id or name matches this file." in page
    assert reverse("unmatched_uploads", args=[assignment.pk]) in page
    assert set(Submission.objects.values_list("student__username", flat=True)) == {
        "student",
        "classmate",
    }


def test_a_class_zip_with_a_roster(assignment, educator, student, classmate, upload):
    roster = (
        b"student id,name,email,file name\n"
        b"student,S,,a1.txt\nclassmate,C,,a2.txt\nghost,G,,a3.txt\n"
    )
    class_zip = make_zip({"a1.txt": b"one", "a2.txt": b"two", "a3.txt": b"three"})
    _, page = upload(
        client_for(educator),
        assignment,
        {"files": files(class__zip=class_zip), "roster": SimpleUploadedFile("r.csv", roster)},
    )
    assert "2 stored" in page and "1 unmatched" in page
    assert "Roster line 4: no student 'ghost' is enrolled in this course." in page
    assert "roster line 4 names 'ghost', who is not enrolled." in page


def test_a_partly_bad_zip_shows_a_clear_reason_for_each_rejected_file(
    assignment, educator, student, upload
):
    class_zip = make_zip(
        {"student.py": b"print(1)", "evil.txt": b"x\x00y", "../up.txt": b"x"},
        symlinks={"link.txt": "/etc/passwd"},
    )
    _, page = upload(client_for(educator), assignment, {"files": files(class__zip=class_zip)})
    assert "1 stored" in page and "3 rejected" in page
    assert "evil.txt: this is not a text file (it holds NUL bytes)." in page
    assert "../up.txt: a path that climbs out of the archive (..)." in page
    assert "link.txt: a symbolic link; links are never followed." in page


def test_a_bad_roster_is_shown_on_the_form_and_nothing_is_stored(assignment, educator, upload):
    response, page = upload(
        client_for(educator),
        assignment,
        {
            "files": files(student__txt=b"x"),
            "roster": SimpleUploadedFile("r.csv", b"colour,size\nred,1\n"),
        },
    )
    assert response.redirect_chain == []
    assert (
        "The roster needs a header row with a &#x27;student id&#x27;" in response.content.decode()
    )
    assert "'student id'" in page
    assert not Submission.objects.exists()


def test_unmatched_files_are_listed_and_assigned(assignment, educator, student, upload):
    web = client_for(educator)
    upload(web, assignment, {"files": files(mystery__txt=b"whose is this?")})
    unmatched = UnmatchedUpload.objects.get()
    url = reverse("unmatched_uploads", args=[assignment.pk])
    page = web.get(url).content.decode()
    assert "mystery.txt" in page and f'name="u{unmatched.pk}-student"' in page

    response = web.post(
        url,
        {"unmatched": unmatched.pk, "action": "assign", f"u{unmatched.pk}-student": student.pk},
        follow=True,
    )
    assert "mystery.txt is now attempt 1 of student." in response.content.decode()
    assert Submission.objects.get(student=student).text == "whose is this?"
    assert "Every uploaded file is matched to a student." in response.content.decode()


def test_an_unmatched_file_can_be_discarded(assignment, educator, upload):
    web = client_for(educator)
    upload(web, assignment, {"files": files(readme__md=b"# notes")})
    unmatched = UnmatchedUpload.objects.get()
    web.post(
        reverse("unmatched_uploads", args=[assignment.pk]),
        {"unmatched": unmatched.pk, "action": "discard"},
    )
    assert not UnmatchedUpload.objects.exists()


def test_assigning_needs_a_student_of_the_course(assignment, educator, make_user, upload):
    web = client_for(educator)
    upload(web, assignment, {"files": files(mystery__txt=b"x")})
    unmatched = UnmatchedUpload.objects.get()
    stranger = make_user("stranger")
    response = web.post(
        reverse("unmatched_uploads", args=[assignment.pk]),
        {"unmatched": unmatched.pk, "action": "assign", f"u{unmatched.pk}-student": stranger.pk},
        follow=True,
    )
    assert "Choose one of the course&#x27;s students." in response.content.decode()
    assert UnmatchedUpload.objects.exists() and not Submission.objects.exists()


def test_file_names_and_reasons_are_escaped(assignment, educator, student, upload):
    _, _ = upload(
        client_for(educator),
        assignment,
        {"student": student.pk, "files": files(**{"<img src=x onerror=alert(1)>__png": b"x"})},
    )
    page = client_for(educator).get(
        reverse("upload_batch_detail", args=[UploadBatch.objects.get().pk])
    )
    assert b"<img src=x" not in page.content
    assert b"&lt;img src=x onerror=alert(1)&gt;.png" in page.content


def test_upload_pages_belong_to_the_course_educators(
    assignment, educator, outsider_educator, student, upload
):
    web = client_for(educator)
    upload(web, assignment, {"files": files(mystery__txt=b"x")})
    batch = UploadBatch.objects.get()
    unmatched = UnmatchedUpload.objects.get()
    pages = [
        reverse("upload_batch_detail", args=[batch.pk]),
        reverse("unmatched_uploads", args=[assignment.pk]),
    ]
    for url in pages:
        assert web.get(url).status_code == 200
        assert client_for(outsider_educator).get(url).status_code == 404
        assert client_for(student).get(url).status_code == 403
        assert client_for(None).get(url).status_code == 302
    response = client_for(outsider_educator).post(
        pages[1], {"unmatched": unmatched.pk, "action": "discard"}
    )
    assert response.status_code == 404
    assert UnmatchedUpload.objects.exists()
