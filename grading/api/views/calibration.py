"""Calibration sets of a course: list them, and import already-marked work as one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.views.courses import course_for_teacher
from grading.services.calibration import MAX_SHOWN_PROBLEMS, calibration_import_upload


class CalibrationSetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source = serializers.CharField(allow_blank=True, help_text="The file it came from.")
    course = serializers.IntegerField(source="assignment.course_id")
    assignment = serializers.IntegerField(
        source="assignment_id", help_text="Holds the task, the rubric and the submissions."
    )
    rubric_version = serializers.IntegerField(source="assignment.rubric_version_id")
    submissions = serializers.IntegerField(source="submission_count")
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    created_at = serializers.DateTimeField()


class ProblemSerializer(serializers.Serializer):
    where = serializers.CharField(help_text='"Entry 3", "Line 7" or a file in the ZIP.')
    reason = serializers.CharField()


class CalibrationSetListView(generics.GenericAPIView):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        dataset = serializers.FileField(
            required=False,
            help_text="An AAIE dataset .json: prompt, rubric, submissions with "
            "final_submission, quality and optional feedback.",
        )
        labels = serializers.FileField(
            required=False,
            help_text="Or a CSV: student_or_file, criterion, points_or_level, comment.",
        )
        archive = serializers.FileField(
            required=False, help_text="With labels: the class ZIP of the marked files."
        )
        rubric_version = serializers.PrimaryKeyRelatedField(
            queryset=selectors.rubric_versions_for_educator(user=None),
            required=False,
            help_text="With labels: the rubric version they were given against.",
        )
        task = serializers.CharField(
            max_length=20_000, required=False, default="", help_text="With labels: the task."
        )
        name = serializers.CharField(max_length=200, required=False, default="")
        band_points = serializers.JSONField(
            binary=True,
            required=False,
            default=dict,
            help_text='With a dataset: points per band as JSON, e.g. {"excellent": 10, '
            '"good": 8, "average": 6, "needs_improvement": 3, "poor": 0}; defaults 4, 3, 2, 1, 0.',
        )

        class Meta:
            ref_name = "CalibrationImport"

    class OutputSerializer(serializers.Serializer):
        calibration_set = CalibrationSetSerializer()
        stored = serializers.IntegerField(help_text="Submissions imported with their labels.")
        rubric_reused = serializers.BooleanField(
            help_text="The dataset's rubric was already in the library and is reused."
        )
        warnings = serializers.ListField(child=serializers.CharField())
        problems = ProblemSerializer(
            many=True, help_text=f"Entries and rows left out (the first {MAX_SHOWN_PROBLEMS})."
        )

        class Meta:
            ref_name = "CalibrationImported"

    @extend_schema(
        operation_id="calibration_sets_list",
        summary="Calibration sets of a course (its educators)",
        responses=CalibrationSetSerializer(many=True),
        examples=[ex.response("Calibration sets", ex.page(ex.CALIBRATION_SET))],
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = course_for_teacher(request.user, course_id)
        sets = selectors.calibration_sets_for_educator(user=request.user).filter(
            assignment__course=course
        )
        page = self.paginate_queryset(sets)
        return self.get_paginated_response(CalibrationSetSerializer(page, many=True).data)

    @extend_schema(
        operation_id="calibration_sets_import",
        summary="Import already-marked work as a calibration set (dataset JSON, or CSV + ZIP)",
        request={"multipart/form-data": InputSerializer},
        responses={201: OutputSerializer},
        examples=[
            ex.request(
                "An AAIE dataset file",
                {"dataset": "essays-2025.json", "name": "Essays 2025"},
                media_type="multipart/form-data",
            ),
            ex.request(
                "Labels beside a class ZIP",
                {
                    "labels": "labels.csv",
                    "archive": "class.zip",
                    "rubric_version": 5,
                    "task": "Explain recursion with an example.",
                },
                media_type="multipart/form-data",
            ),
            ex.response("Imported", ex.CALIBRATION_IMPORT, 201),
        ],
    )
    def post(self, request: Request, course_id: int) -> Response:
        course = course_for_teacher(request.user, course_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = calibration_import_upload(
            course=course, created_by=request.user, **data.validated_data
        )
        problems = result.problems[:MAX_SHOWN_PROBLEMS]
        if result.calibration_set is None:
            raise exceptions.ValidationError(
                {"entries": [f"{problem.where}: {problem.reason}" for problem in problems]}
            )
        calibration_set = (
            selectors.calibration_sets_for_educator(user=request.user)
            .filter(pk=result.calibration_set.pk)
            .get()
        )
        body = {
            "calibration_set": calibration_set,
            "stored": result.stored,
            "rubric_reused": result.rubric_reused,
            "warnings": result.warnings,
            "problems": problems,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)
