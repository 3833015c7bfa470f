"""Submissions: upload (educators: files or a class ZIP with a roster; students: their own, where
allowed) and read."""

from __future__ import annotations

from django.conf import settings
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
from grading.models import Assignment, GradingRun, Submission
from grading.services.submissions import Outcome, submission_create, submission_import


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


def _outcomes_for_student(assignment: Assignment, student, uploads, uploaded_by) -> list[dict]:
    """A student's own upload: each file is their next attempt, or rejected with the reason."""
    outcomes = []
    for upload in uploads:
        try:
            submission = submission_create(
                assignment=assignment, student=student, upload=upload, uploaded_by=uploaded_by
            )
        except ApplicationError as error:
            outcomes.append(_outcome(upload, Outcome.REJECTED, error.message))
        else:
            outcomes.append(
                _outcome(
                    upload,
                    Outcome.STORED,
                    "",
                    student.get_username(),
                    selectors.submission_flags_for_student(flags=submission.flags),
                )
            )
    return outcomes


def _outcome(upload, outcome: str, reason: str, student: str = "", flags=()) -> dict:
    return {
        "name": str(upload.name)[:255],
        "outcome": outcome,
        "reason": reason,
        "student": student,
        "flags": list(flags),
    }


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

    class OutputSerializer(serializers.Serializer):
        batch = serializers.IntegerField(
            allow_null=True, help_text="The upload's record (educators' uploads)."
        )
        files = FileOutcomeSerializer(many=True)
        warnings = serializers.ListField(
            child=serializers.CharField(), help_text="E.g. roster rows naming no student."
        )

        class Meta:
            ref_name = "UploadResult"

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
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer},
        examples=[
            ex.request(
                "A class ZIP with a roster",
                {"files": ["class.zip"], "roster": "roster.csv"},
                media_type="multipart/form-data",
            ),
            ex.response("Uploaded", ex.UPLOAD_RESULT, 201),
        ],
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment, teaches = assignment_for_member(request.user, assignment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        uploads = data.validated_data["files"]
        if teaches:
            student = None
            username = data.validated_data.get("student")
            if username:
                students = selectors.students_of(course=assignment.course)
                student = students.filter(username=username).first()
                if student is None:
                    raise ApplicationError(
                        "No student of this course has this username.", field="student"
                    )
            batch = submission_import(
                assignment=assignment,
                uploads=uploads,
                uploaded_by=request.user,
                student=student,
                roster=data.validated_data.get("roster"),
            )
            body = {"batch": batch.pk, "files": batch.results, "warnings": batch.warnings}
        else:
            _student_may_upload(assignment)
            outcomes = _outcomes_for_student(assignment, request.user, uploads, request.user)
            body = {"batch": None, "files": outcomes, "warnings": []}
        if all(item["outcome"] == Outcome.REJECTED for item in body["files"]):
            raise exceptions.ValidationError({"files": [item["reason"] for item in body["files"]]})
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class SubmissionDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="submissions_retrieve",
        summary="One submission with its extracted text (students: their own)",
        responses=SubmissionDetailSerializer,
        examples=[ex.response("Submission", {**ex.SUBMISSION, "text": "Recursion is …"})],
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission, teaches = submission_for_member(request.user, submission_id)
        return Response(SubmissionDetailSerializer(submission, context={"educator": teaches}).data)
