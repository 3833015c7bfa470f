"""Submissions: upload (educators: files or a class ZIP with a roster; students: their own, where
allowed) and read. An upload answers 202 at once with its URL; the light worker reads the files
and `GET uploads/<id>/` tells where it stands."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.common import Filter, FilterBackend, found, require_educator
from grading.api.serializers import SubmissionDetailSerializer, SubmissionSerializer
from grading.api.views.assignments import assignment_for_member
from grading.errors import ApplicationError
from grading.models import Assignment, GradingRun, Submission, UploadBatch
from grading.services.reviews import submission_opened
from grading.services.uploads import Outcome, upload_accept, upload_batch_resend_if_lost

IDEMPOTENCY_HEADER = "Idempotency-Key"


def submission_for_teacher(user, submission_id: int) -> Submission:
    """The submission if the user teaches its course; 403 for students, else 404."""
    require_educator(user)
    return found(selectors.submission_for_educator(user=user, submission_id=submission_id))


def submission_for_member(user, submission_id: int) -> tuple[Submission, bool]:
    """The submission and whether the user teaches it; a student sees only their own."""
    submission = selectors.submission_for_educator(user=user, submission_id=submission_id)
    if submission is not None:
        return submission, True
    own = selectors.submission_for_student(user=user, submission_id=submission_id)
    return found(own), False


def _student_may_upload(assignment: Assignment) -> None:
    if not assignment.students_may_upload:
        raise exceptions.PermissionDenied("Students do not upload to this assignment.")
    if assignment.due_at is not None and assignment.due_at <= timezone.now():
        raise ApplicationError("The due date has passed; uploads are closed.")


class FileOutcomeSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The file, or its path inside an uploaded ZIP.")
    outcome = serializers.ChoiceField(choices=[Outcome.STORED, Outcome.UNMATCHED, Outcome.REJECTED])
    reason = serializers.CharField(
        allow_blank=True, help_text="Why it was rejected, or how it was matched to a student."
    )
    student = serializers.CharField(allow_blank=True)
    flags = serializers.ListField(child=serializers.CharField())


def upload_for_member(user, batch_id: int) -> tuple[UploadBatch, bool]:
    """The upload and whether the user teaches its course; a student sees only their own."""
    batch = selectors.upload_batch_for_educator(user=user, batch_id=batch_id)
    if batch is not None:
        return batch, True
    return found(selectors.upload_batch_for_student(user=user, batch_id=batch_id)), False


class UploadOutputSerializer(serializers.Serializer):
    batch = serializers.IntegerField(source="id", help_text="The upload's record.")
    status = serializers.ChoiceField(
        choices=UploadBatch.Status.values,
        help_text="processing: the files are stored and being read; done: see files; failed: "
        "nothing was stored (see error).",
    )
    url = serializers.CharField(help_text="Poll this until status is not processing.")
    error = serializers.CharField(allow_blank=True)
    files = FileOutcomeSerializer(many=True, help_text="Empty while processing.")
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="E.g. roster rows naming no student."
    )

    class Meta:
        ref_name = "UploadResult"


def _upload_body(request: Request, batch: UploadBatch, *, educator: bool) -> dict:
    progress = selectors.upload_batch_progress(batch=batch, educator=educator)
    url = request.build_absolute_uri(reverse("api_upload", args=[batch.pk]))
    return UploadOutputSerializer({**progress, "url": url}).data


class SubmissionListView(generics.GenericAPIView):
    parser_classes = [MultiPartParser]
    filter_backends = [FilterBackend, OrderingFilter]
    filters = {
        "student": Filter("student__username", description="Only this student's (username)."),
        "run_status": Filter(
            "latest_run__status",
            choices=tuple(GradingRun.Status.values),
            description="Educators: only submissions whose current AI run is in this status.",
        ),
    }
    ordering_fields = ["submitted_at", "attempt", "student__username"]

    class InputSerializer(serializers.Serializer):
        files = serializers.ListField(
            child=serializers.FileField(max_length=255, allow_empty_file=False),
            min_length=1,
            max_length=settings.AAIE_MAX_FILES_PER_UPLOAD,
            help_text="Files (.txt, .md, source code, .ipynb, .pdf, .docx) or ZIPs. With a "
            "student named, every file (and a ZIP as a whole) is that student's next attempt; "
            "without one, a ZIP is a class whose files are matched to students by the roster "
            "or by their names.",
        )
        student = serializers.CharField(
            max_length=150,
            required=False,
            allow_blank=True,
            help_text="Educators: the username of the student the files belong to. "
            "Students leave it out: they upload their own.",
        )
        roster = serializers.FileField(
            required=False,
            allow_empty_file=False,
            help_text="Educators, for a class ZIP: CSV with student id, name, email, file name.",
        )

        class Meta:
            ref_name = "SubmissionUpload"

    @extend_schema(
        operation_id="submissions_list",
        summary="Submissions of an assignment (students: only their own)",
        responses=SubmissionSerializer(many=True),
        examples=[ex.response("Submissions", ex.page(ex.SUBMISSION))],
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment, teaches = assignment_for_member(request.user, assignment_id)
        if teaches:
            submissions = selectors.submission_list_for_assignment(assignment=assignment)
        else:
            submissions = selectors.submission_list_for_student(user=request.user).filter(
                assignment=assignment
            )
            # A student is told where a submission stands, never how its AI run went.
            self.filters = {"student": self.filters["student"]}
        page = self.paginate_queryset(self.filter_queryset(submissions))
        return self.get_paginated_response(
            SubmissionSerializer(page, many=True, context={"educator": teaches}).data
        )

    @extend_schema(
        operation_id="submissions_upload",
        summary="Upload files or a class ZIP (with a roster) as new attempts",
        description="The files are stored at once and read in the background: the answer is "
        "202 with the upload's `url` to poll. Send an `Idempotency-Key` header (your own, up "
        "to 100 characters) to retry safely: the same key answers with the same upload. A full "
        "disk answers 507 and stores nothing.",
        request={"multipart/form-data": InputSerializer},
        responses={202: UploadOutputSerializer},
        examples=[
            ex.request(
                "A class ZIP with a roster",
                {"files": ["class.zip"], "roster": "roster.csv"},
                media_type="multipart/form-data",
            ),
            ex.response("Accepted", ex.UPLOAD_ACCEPTED, 202),
        ],
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment, teaches = assignment_for_member(request.user, assignment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if teaches:
            student = self._student(assignment, data.validated_data.get("student"))
            roster = data.validated_data.get("roster")
        else:
            _student_may_upload(assignment)
            student, roster = request.user, None
        batch = upload_accept(
            assignment=assignment,
            uploads=data.validated_data["files"],
            uploaded_by=request.user,
            student=student,
            roster=roster,
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, "").strip(),
        )
        body = _upload_body(request, batch, educator=teaches)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})

    @staticmethod
    def _student(assignment: Assignment, username: str | None):
        if not username:
            return None
        student = selectors.students_of(course=assignment.course).filter(username=username).first()
        if student is None:
            raise ApplicationError("No student of this course has this username.", field="student")
        return student


class UploadDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="uploads_retrieve",
        summary="Where an upload stands, and what became of each file once read",
        responses=UploadOutputSerializer,
        examples=[ex.response("Read", ex.UPLOAD_RESULT)],
    )
    def get(self, request: Request, batch_id: int) -> Response:
        batch, teaches = upload_for_member(request.user, batch_id)
        upload_batch_resend_if_lost(batch=batch)
        return Response(_upload_body(request, batch, educator=teaches))


class SubmissionDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="submissions_retrieve",
        summary="One submission with its extracted text (students: their own)",
        responses=SubmissionDetailSerializer,
        examples=[ex.response("Submission", {**ex.SUBMISSION, "text": "Recursion is …"})],
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission, teaches = submission_for_member(request.user, submission_id)
        if teaches:
            # Reading the text through the API is opening it, as the review page is.
            submission_opened(submission=submission, actor=request.user)
        return Response(SubmissionDetailSerializer(submission, context={"educator": teaches}).data)
