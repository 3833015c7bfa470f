"""One assignment: its details, batch grading and its progress, gradebook and agreement figures."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.common import CSVRenderer, found, require_educator
from grading.api.serializers import AssignmentSerializer, UserSerializer
from grading.models import Assignment
from grading.services.analytics import agreement_for_assignment
from grading.services.gradebook import gradebook_csv, gradebook_for_assignment
from grading.services.grading import grading_runs_request_for_assignment
from grading.services.pipeline import (
    assignment_progress,
    grading_runs_cancel_for_assignment,
    grading_runs_retry_failed,
)


def assignment_for_teacher(user, assignment_id: int) -> Assignment:
    """The assignment if the user teaches its course; 403 for students, else 404."""
    require_educator(user)
    return found(selectors.assignment_for_educator(user=user, assignment_id=assignment_id))


def assignment_for_member(user, assignment_id: int) -> tuple[Assignment, bool]:
    """The assignment and whether the user teaches it; students of the course see it too."""
    assignment = selectors.assignment_for_educator(user=user, assignment_id=assignment_id)
    if assignment is not None:
        return assignment, True
    return found(selectors.assignment_for_student(user=user, assignment_id=assignment_id)), False


class AssignmentDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="assignments_retrieve",
        summary="One assignment (reference notes only for its educators)",
        responses=AssignmentSerializer,
        examples=[ex.response("Assignment", ex.ASSIGNMENT)],
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment, teaches = assignment_for_member(request.user, assignment_id)
        return Response(AssignmentSerializer(assignment, context={"educator": teaches}).data)


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Submissions (all attempts).")
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    not_graded = serializers.IntegerField(help_text="Submissions never sent to the AI.")
    remaining = serializers.IntegerField(help_text="Queued + running.")
    finished = serializers.IntegerField(help_text="Requested runs that ended.")
    percent = serializers.IntegerField(help_text="finished among requested, 0–100.")
    active = serializers.BooleanField(help_text="True while runs are queued or running.")
    throughput_per_minute = serializers.FloatField(
        allow_null=True, help_text="Measured over recent runs; null until there are enough."
    )
    eta_seconds = serializers.IntegerField(allow_null=True)
    eta_text = serializers.CharField(allow_blank=True)


def progress_of(assignment: Assignment) -> dict:
    return ProgressSerializer(assignment_progress(assignment=assignment)).data


class AssignmentProgressView(generics.GenericAPIView):
    @extend_schema(
        operation_id="assignments_progress",
        summary="Grading progress of an assignment; poll it while a batch runs",
        responses=ProgressSerializer,
        examples=[ex.response("Progress", ex.PROGRESS)],
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_for_teacher(request.user, assignment_id)
        return Response(progress_of(assignment))


class AssignmentGradeView(generics.GenericAPIView):
    class OutputSerializer(serializers.Serializer):
        queued = serializers.IntegerField(help_text="Runs queued by this request.")
        progress = ProgressSerializer()

        class Meta:
            ref_name = "BatchGradingStarted"

    @extend_schema(
        operation_id="assignments_grade",
        summary="Grade every newest attempt that has no AI grade yet (failed ones again)",
        request=None,
        responses={202: OutputSerializer},
        examples=[ex.response("Queued", {"queued": 5, "progress": ex.PROGRESS}, 202)],
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_for_teacher(request.user, assignment_id)
        queued = grading_runs_request_for_assignment(
            assignment=assignment, requested_by=request.user
        )
        return Response(
            {"queued": queued, "progress": progress_of(assignment)},
            status=status.HTTP_202_ACCEPTED,
        )


class BatchCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Runs affected by this request.")
    progress = ProgressSerializer()


class AssignmentCancelView(generics.GenericAPIView):
    @extend_schema(
        operation_id="assignments_grading_cancel",
        summary="Cancel every queued or running AI run of the assignment",
        request=None,
        responses=BatchCountSerializer,
        examples=[ex.response("Cancelled", {"count": 5, "progress": ex.PROGRESS})],
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_for_teacher(request.user, assignment_id)
        count = grading_runs_cancel_for_assignment(assignment=assignment, cancelled_by=request.user)
        return Response({"count": count, "progress": progress_of(assignment)})


class AssignmentRetryFailedView(generics.GenericAPIView):
    @extend_schema(
        operation_id="assignments_grading_retry_failed",
        summary="Grade again every newest attempt whose AI run failed",
        request=None,
        responses={202: BatchCountSerializer},
        examples=[ex.response("Queued", {"count": 2, "progress": ex.PROGRESS}, 202)],
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_for_teacher(request.user, assignment_id)
        count = grading_runs_retry_failed(assignment=assignment, requested_by=request.user)
        return Response(
            {"count": count, "progress": progress_of(assignment)}, status=status.HTTP_202_ACCEPTED
        )


class GradebookCriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    max_points = serializers.IntegerField()


class GradebookRowSerializer(serializers.Serializer):
    student = UserSerializer()
    submission_id = serializers.IntegerField()
    attempt = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    run_status = serializers.CharField(allow_blank=True)
    ai_total = serializers.IntegerField(allow_null=True)
    criteria = serializers.DictField(
        child=serializers.IntegerField(allow_null=True), help_text="Final points per criterion key."
    )
    final_total = serializers.IntegerField(allow_null=True)
    max_total = serializers.IntegerField()
    approved = serializers.BooleanField()
    released = serializers.BooleanField(help_text="Whether the newest attempt's grade is out.")
    released_total = serializers.IntegerField(
        allow_null=True,
        help_text="The grade the student has: the newest released review of any attempt.",
    )
    released_attempt = serializers.IntegerField(allow_null=True)
    provenance = serializers.CharField(
        allow_null=True, help_text="How the final points came to be (null: no review yet)."
    )


class GradebookSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    criteria = GradebookCriterionSerializer(many=True)
    rows = GradebookRowSerializer(many=True)


class GradebookView(generics.GenericAPIView):
    @extend_schema(
        operation_id="gradebook_json",
        summary="Gradebook: one row per student (newest attempt), final and AI points",
        responses=GradebookSerializer,
        examples=[ex.response("Gradebook", ex.GRADEBOOK)],
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_for_teacher(request.user, assignment_id)
        gradebook = gradebook_for_assignment(assignment=assignment)
        data = {"assignment": assignment.pk, **gradebook}
        return Response(GradebookSerializer(data).data)


class GradebookCSVView(generics.GenericAPIView):
    renderer_classes = [CSVRenderer, JSONRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # Errors keep the API's JSON body whatever the client asked the export to be.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        operation_id="gradebook_csv",
        summary="Gradebook as CSV; cells that a spreadsheet would run as formulas are quoted",
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, examples=[ex.response("CSV", ex.GRADEBOOK_CSV)]
            )
        },
    )
    def get(self, request: Request, assignment_id: int) -> HttpResponse:
        assignment = assignment_for_teacher(request.user, assignment_id)
        text = gradebook_csv(gradebook=gradebook_for_assignment(assignment=assignment))
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="gradebook-assignment-{assignment.pk}.csv"'
        )
        return response


class AgreementSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Pairs of AI and human grades compared (n).")
    exact = serializers.FloatField(allow_null=True, help_text="Share on the same level.")
    within_one_level = serializers.FloatField(allow_null=True)
    mean_absolute_difference = serializers.FloatField(
        allow_null=True, help_text="In points (totals: in percent of the maximum)."
    )
    mean_signed_difference = serializers.FloatField(
        allow_null=True, help_text="AI minus person: above 0 the AI is lenient, below 0 harsh."
    )
    quadratic_weighted_kappa = serializers.FloatField(
        allow_null=True, help_text="Null when there are too few pairs to mean anything."
    )
    kappa_interval = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="Bootstrap 95% interval of the kappa, [low, high].",
    )
    warning = serializers.CharField(
        allow_blank=True, help_text="Why the figure is missing or rough, when it is."
    )


class CriterionAgreementSerializer(AgreementSerializer):
    criterion_id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    levels = serializers.ListField(child=serializers.CharField(), help_text="Best level first.")
    confusion = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="Counts by AI level (rows) and human level (columns), best first.",
    )


class AnalyticsSerializer(serializers.Serializer):
    judged = serializers.IntegerField(
        help_text="Grades a person judged (edited, opened and approved, or imported labels)."
    )
    reviewed = serializers.IntegerField(help_text="The same number, under its older name.")
    holistic = serializers.IntegerField(help_text="Of those, imported one-band labels.")
    total = AgreementSerializer(help_text="On totals, as tenths of the maximum.")
    overall = AgreementSerializer(help_text="Every criterion's pairs together.")
    criteria = CriterionAgreementSerializer(many=True)
    left_out = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Grades not counted, by reason (released in bulk, automatically, …).",
    )


class AnalyticsView(generics.GenericAPIView):
    @extend_schema(
        operation_id="assignments_analytics",
        summary="How far AI grades agree with human-judged ones (bulk and auto releases left out)",
        responses=AnalyticsSerializer,
        examples=[ex.response("Agreement", ex.ANALYTICS)],
    )
    def get(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_for_teacher(request.user, assignment_id)
        data = agreement_for_assignment(assignment=assignment).as_dict()
        return Response(AnalyticsSerializer(data).data)
