"""Agreement pooled over a course, and model profiles tried on calibration sets."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.common import found, require_educator
from grading.api.views.assignments import AnalyticsSerializer
from grading.models import ModelProfile
from grading.services.analytics import agreement_for_course
from grading.services.evaluation import evaluation_report, evaluation_request


class CourseAgreementView(generics.GenericAPIView):
    @extend_schema(
        operation_id="courses_agreement",
        summary="Agreement pooled over every assignment of a course (human judgments only)",
        responses=AnalyticsSerializer,
        examples=[ex.response("Agreement", ex.ANALYTICS)],
    )
    def get(self, request: Request, course_id: int) -> Response:
        require_educator(request.user)
        course = found(selectors.course_for_educator(user=request.user, course_id=course_id))
        return Response(AnalyticsSerializer(agreement_for_course(course=course).as_dict()).data)


class DisagreementSerializer(serializers.Serializer):
    submission = serializers.IntegerField()
    run = serializers.IntegerField()
    ai_total = serializers.IntegerField()
    human_total = serializers.IntegerField()
    max_total = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    graded = serializers.IntegerField()
    mean_prompt_tokens = serializers.FloatField(allow_null=True)
    mean_thinking_tokens = serializers.FloatField(allow_null=True)
    mean_answer_tokens = serializers.FloatField(allow_null=True)
    mean_seconds = serializers.FloatField(allow_null=True)
    median_seconds = serializers.FloatField(allow_null=True)


class EvaluationSerializer(serializers.Serializer):
    evaluation = serializers.IntegerField()
    calibration_set = serializers.IntegerField()
    profile = serializers.CharField()
    created_at = serializers.DateTimeField()
    done = serializers.BooleanField(help_text="False while the workers are still grading.")
    runs = serializers.DictField(child=serializers.IntegerField(), help_text="By status.")
    agreement = AnalyticsSerializer()
    worst_disagreements = DisagreementSerializer(many=True)
    per_submission = UsageSerializer()


class EvaluationCreateView(generics.GenericAPIView):
    class InputSerializer(serializers.Serializer):
        profile = serializers.PrimaryKeyRelatedField(
            queryset=ModelProfile.objects.all(),
            allow_null=True,
            required=False,
            help_text="A model profile's id; null or absent: the default model (settings).",
        )

    @extend_schema(
        operation_id="evaluations_create",
        summary="Grade a calibration set with a model profile (trial runs; no grade changes)",
        request=InputSerializer,
        responses={202: EvaluationSerializer},
        examples=[
            ex.request("Profile", {"profile": 3}),
            ex.response("Queued", ex.EVALUATION, status=202),
        ],
    )
    def post(self, request: Request, set_id: int) -> Response:
        require_educator(request.user)
        calibration_set = found(
            selectors.calibration_set_for_educator(user=request.user, set_id=set_id)
        )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evaluation = evaluation_request(
            calibration_set=calibration_set,
            profile=data.validated_data.get("profile"),
            requested_by=request.user,
        )
        report = evaluation_report(evaluation=evaluation).as_dict()
        return Response(EvaluationSerializer(report).data, status=status.HTTP_202_ACCEPTED)


class EvaluationDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="evaluations_retrieve",
        summary="An evaluation's report: agreement with the set's marks, worst disagreements",
        responses=EvaluationSerializer,
        examples=[ex.response("Report", ex.EVALUATION)],
    )
    def get(self, request: Request, evaluation_id: int) -> Response:
        require_educator(request.user)
        evaluation = found(
            selectors.evaluation_for_educator(user=request.user, evaluation_id=evaluation_id)
        )
        report = evaluation_report(evaluation=evaluation).as_dict()
        return Response(EvaluationSerializer(report).data)
