import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from grading.errors import ApplicationError
from grading.models import Submission
from grading.services.submissions import submission_create

pytestmark = pytest.mark.django_db


def upload(assignment, student, educator, name: str, content: bytes) -> Submission:
    return submission_create(
        assignment=assignment,
        student=student,
        upload=SimpleUploadedFile(name, content),
        uploaded_by=educator,
    )


def test_it_keeps_the_original_and_its_text_and_hash(assignment, student, educator):
    content = b"def f(n):\r\n    return n\r\n"
    submission = upload(assignment, student, educator, "solution.py", content)
    assert submission.text == "def f(n):\n    return n\n"  # newlines normalised
    assert submission.content_hash == hashlib.sha256(content).hexdigest()
    assert submission.size == len(content)
    assert submission.original_name == "solution.py"
    with submission.original_file.open("rb") as stored:
        assert stored.read() == content  # kept exactly as uploaded


def test_a_resubmission_is_a_new_attempt_and_history_is_kept(assignment, student, educator):
    first = upload(assignment, student, educator, "a.txt", b"first")
    second = upload(assignment, student, educator, "a.txt", b"second")
    assert (first.attempt, second.attempt) == (1, 2)
    assert Submission.objects.filter(student=student).count() == 2


def test_the_uploaded_name_never_becomes_a_path(assignment, student, educator):
    submission = upload(assignment, student, educator, "../../etc/passwd.txt", b"text")
    assert submission.original_name == "passwd.txt"
    assert ".." not in submission.original_file.name


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.png", b"\x89PNG", "not accepted"),
        ("a.txt", b"abc\x00def", "NUL bytes"),
        ("a.txt", "caf\u00e9".encode("latin-1"), "not valid UTF-8"),
        ("a.txt", b"   \n ", "empty"),
    ],
)
def test_it_rejects_bad_files_with_a_reason_and_stores_nothing(
    assignment, student, educator, name, content, message, settings
):
    with pytest.raises(ApplicationError, match=message):
        upload(assignment, student, educator, name, content)
    assert not Submission.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_it_rejects_files_over_the_size_limit(assignment, student, educator, settings):
    settings.AAIE_MAX_UPLOAD_BYTES = 10
    with pytest.raises(ApplicationError, match="over the limit"):
        upload(assignment, student, educator, "a.txt", b"x" * 11)


def test_only_students_of_the_course_can_have_submissions(assignment, educator, make_user):
    stranger = make_user("stranger")
    with pytest.raises(ApplicationError, match="not a student"):
        upload(assignment, stranger, educator, "a.txt", b"text")
    assert not Submission.objects.exists()
