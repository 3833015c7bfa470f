"""Regrade requests: students ask on a released grade; educators answer, optionally re-scoring."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.common import MAX_ID, Filter, FilterBackend, found, require_educator
from grading.api.serializers import RegradeRequestSerializer
from grading.api.views.submissions import submission_for_member
from grading.models import Criterion, RegradeRequest
from grading.permissions import is_educator
from grading.services.regrades import (
    MAX_REASON_CHARS,
    regrade_request_answer,
    regrade_request_create,
)

MAX_RESPONSE_CHARS = 5000


def regrades_visible_to(user) -> QuerySet[RegradeRequest]:
    """Educators: requests in the courses they teach, and their own; students: their own."""
    visible = Q(student=user)
    if is_educator(user):
        taught = selectors.regrade_requests_for_educator(user=user).values("pk")
        visible |= Q(pk__in=taught)
    return (
        RegradeRequest.objects.filter(visible)
        .select_related("submission", "student")
        .prefetch_related("criteria")
    )


class RegradeListView(generics.GenericAPIView):
    filter_backends = [FilterBackend, OrderingFilter]
    filters = {
        "status": Filter(
            "status", choices=tuple(RegradeRequest.Status.values), description="Only this status."
        ),
        "assignment": Filter("submission__assignment_id", kind=int, description="Assignment id."),
    }
    ordering_fields = ["created_at", "status"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return regrades_visible_to(self.request.user)

    @extend_schema(
        operation_id="regrade_requests_list",
        summary="Regrade requests (educators: of their courses; students: their own)",
        responses=RegradeRequestSerializer(many=True),
        examples=[ex.response("Requests", ex.page(ex.REGRADE))],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RegradeRequestSerializer(page, many=True).data)


class RegradeCreateView(generics.GenericAPIView):
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=MAX_REASON_CHARS)
        criteria = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
            required=False,
            default=list,
            max_length=100,
            help_text="Ids of the criteria to look at again (optional).",
        )

        class Meta:
            ref_name = "RegradeRequestCreate"

    @extend_schema(
        operation_id="regrade_requests_create",
        summary="Ask for a regrade of your own released grade (students)",
        request=InputSerializer,
        responses={201: RegradeRequestSerializer},
        examples=[
            ex.request(
                "Ask", {"reason": "My example does terminate; see line 4.", "criteria": [11]}
            ),
            ex.response("Asked", ex.REGRADE, 201),
        ],
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission, _ = submission_for_member(request.user, submission_id)
        if submission.student_id != request.user.pk:
            raise exceptions.PermissionDenied("Only the student who submitted asks for a regrade.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = set(data.validated_data["criteria"])
        criteria = list(Criterion.objects.filter(pk__in=wanted))
        if len(criteria) != len(wanted):
            raise exceptions.ValidationError({"criteria": ["Pick criteria of this rubric."]})
        regrade = regrade_request_create(
            submission=submission,
            student=request.user,
            reason=data.validated_data["reason"],
            criteria=criteria,
        )
        return Response(RegradeRequestSerializer(regrade).data, status=status.HTTP_201_CREATED)


class RegradeDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="regrade_requests_retrieve",
        summary="One regrade request",
        responses=RegradeRequestSerializer,
        examples=[ex.response("Request", ex.REGRADE)],
    )
    def get(self, request: Request, regrade_id: int) -> Response:
        regrade = found(regrades_visible_to(request.user).filter(pk=regrade_id).first())
        return Response(RegradeRequestSerializer(regrade).data)


class PointsSerializer(serializers.Serializer):
    criterion_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    points = serializers.IntegerField(min_value=0)


class RegradeAnswerView(generics.GenericAPIView):
    class InputSerializer(serializers.Serializer):
        response = serializers.CharField(max_length=MAX_RESPONSE_CHARS)
        points = PointsSerializer(
            many=True,
            required=False,
            allow_null=True,
            default=None,
            help_text="New final points per criterion; leave out to keep the grade.",
        )

        class Meta:
            ref_name = "RegradeAnswer"

    @extend_schema(
        operation_id="regrade_requests_answer",
        summary="Answer a regrade request, optionally with new points (audited)",
        request=InputSerializer,
        responses=RegradeRequestSerializer,
        examples=[
            ex.request(
                "Accept",
                {
                    "response": "Agreed, it terminates.",
                    "points": [{"criterion_id": 11, "points": 4}],
                },
            ),
            ex.response(
                "Answered",
                {
                    **ex.REGRADE,
                    "status": "accepted",
                    "response": "Agreed, it terminates.",
                    "responded_at": ex.WHEN,
                },
            ),
        ],
    )
    def post(self, request: Request, regrade_id: int) -> Response:
        require_educator(request.user)
        regrade = found(
            selectors.regrade_request_for_educator(user=request.user, request_id=regrade_id)
        )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        points = data.validated_data["points"]
        regrade = regrade_request_answer(
            regrade_request=regrade,
            actor=request.user,
            response=data.validated_data["response"],
            points=None if points is None else {p["criterion_id"]: p["points"] for p in points},
        )
        return Response(RegradeRequestSerializer(regrade).data)
