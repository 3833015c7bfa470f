"""AI grading runs: start one, list a submission's runs, read status and result with the trace."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from grading.api import examples as ex
from grading.api.common import found, require_educator
from grading.api.serializers import GradingRunSerializer
from grading.api.views.submissions import submission_for_teacher
from grading.models import GradingRun
from grading.selectors import taught_by
from grading.services.grading import grading_run_request
from grading.services.pipeline import grading_run_cancel


def runs_for_teacher(user):
    require_educator(user)
    runs = GradingRun.objects.select_related("submission").prefetch_related("results__criterion")
    return taught_by(runs, user=user, course="submission__assignment__course")


class SubmissionRunsView(generics.GenericAPIView):
    @extend_schema(
        operation_id="grading_runs_list",
        summary="A submission's AI runs, newest first",
        responses=GradingRunSerializer(many=True),
        examples=[ex.response("Runs", ex.page(ex.RUN))],
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission = submission_for_teacher(request.user, submission_id)
        runs = runs_for_teacher(request.user).filter(submission=submission)
        page = self.paginate_queryset(runs.order_by("-queued_at", "-id"))
        return self.get_paginated_response(GradingRunSerializer(page, many=True).data)

    @extend_schema(
        operation_id="grading_runs_start",
        summary="Queue an AI grading run for one submission",
        request=None,
        responses={202: GradingRunSerializer},
        examples=[
            ex.response(
                "Queued",
                {
                    **ex.RUN,
                    "status": "queued",
                    "started_at": None,
                    "finished_at": None,
                    "total": None,
                    "feedback": "",
                    "reasoning_trace": "",
                    "prompt_tokens": None,
                    "thinking_tokens": None,
                    "answer_tokens": None,
                    "results": [],
                },
                202,
            )
        ],
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission = submission_for_teacher(request.user, submission_id)
        run = grading_run_request(submission=submission, requested_by=request.user)
        return Response(GradingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class GradingRunDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="grading_runs_retrieve",
        summary="A run's status, and once done its per-criterion results and reasoning trace",
        responses=GradingRunSerializer,
        examples=[ex.response("Succeeded", ex.RUN)],
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = found(runs_for_teacher(request.user).filter(pk=run_id).first())
        return Response(GradingRunSerializer(run).data)


class GradingRunCancelView(generics.GenericAPIView):
    @extend_schema(
        operation_id="grading_runs_cancel",
        summary="Cancel a queued or running run; a running model call ends, its result dropped",
        request=None,
        responses=GradingRunSerializer,
        examples=[ex.response("Cancelled", {**ex.RUN, "status": "cancelled", "results": []})],
    )
    def post(self, request: Request, run_id: int) -> Response:
        run = found(runs_for_teacher(request.user).filter(pk=run_id).first())
        grading_run_cancel(run=run, cancelled_by=request.user)
        run.refresh_from_db()
        return Response(GradingRunSerializer(run).data)
