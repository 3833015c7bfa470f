"""The rubric library: rubrics, their versions, new versions, import and export as JSON."""

from __future__ import annotations

from dataclasses import asdict

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.common import found, require_educator
from grading.api.serializers import RubricSerializer, RubricVersionSerializer
from grading.models import Rubric, RubricVersion
from grading.permissions import can_edit_rubric
from grading.services.rubric_library import (
    DATASET_BANDS,
    rubric_export,
    rubric_export_dataset,
    rubric_import_plan,
    rubric_in_library,
    rubric_plan_save,
    unique_rubric_name,
)
from grading.services.rubrics import (
    MAX_CRITERIA,
    MAX_LEVELS,
    CriterionInput,
    LevelInput,
    rubric_create,
    rubric_version_create,
)

MAX_POINTS = 1000
MAX_DESCRIPTION_CHARS = 5000


class LevelInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=80)
    points = serializers.IntegerField(min_value=0, max_value=MAX_POINTS)
    descriptor = serializers.CharField(
        max_length=MAX_DESCRIPTION_CHARS, required=False, allow_blank=True, default=""
    )


class CriterionInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=MAX_DESCRIPTION_CHARS, required=False, allow_blank=True, default=""
    )
    max_points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    levels = LevelInputSerializer(many=True, min_length=2, max_length=MAX_LEVELS)


def criteria_inputs(items: list[dict]) -> list[CriterionInput]:
    return [
        CriterionInput(
            title=item["title"],
            description=item["description"],
            max_points=item["max_points"],
            levels=[LevelInput(**level) for level in item["levels"]],
        )
        for item in items
    ]


def rubrics_for(user) -> QuerySet[Rubric]:
    """The library every educator may reuse, with its versions."""
    require_educator(user)
    return Rubric.objects.prefetch_related(
        Prefetch("versions", queryset=RubricVersion.objects.order_by("number"))
    )


def version_for(user, version_id: int) -> RubricVersion:
    require_educator(user)
    versions = selectors.rubric_versions_for_educator(user=user).prefetch_related(
        "criteria__levels", "grading_runs"
    )
    return found(versions.filter(pk=version_id).first())


class RubricListView(generics.GenericAPIView):
    filter_backends = [SearchFilter, OrderingFilter]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(
            max_length=MAX_DESCRIPTION_CHARS, required=False, allow_blank=True, default=""
        )
        criteria = CriterionInputSerializer(many=True, min_length=1, max_length=MAX_CRITERIA)

        class Meta:
            ref_name = "RubricCreate"

    def get_queryset(self):
        return rubrics_for(self.request.user)

    @extend_schema(
        operation_id="rubrics_list",
        summary="The rubric library (educators)",
        responses=RubricSerializer(many=True),
        examples=[ex.response("Rubrics", ex.page(ex.RUBRIC))],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(RubricSerializer(page, many=True).data)

    @extend_schema(
        operation_id="rubrics_create",
        summary="Create a rubric with its version 1",
        request=InputSerializer,
        responses={201: RubricVersionSerializer},
        examples=[
            ex.request("New rubric", {"name": "Short answer", "criteria": ex.CRITERIA_INPUT}),
            ex.response("Version 1", ex.RUBRIC_VERSION, 201),
        ],
    )
    def post(self, request: Request) -> Response:
        require_educator(request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = rubric_create(
            name=data.validated_data["name"],
            description=data.validated_data["description"],
            criteria=criteria_inputs(data.validated_data["criteria"]),
            created_by=request.user,
        )
        return Response(RubricVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class RubricDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="rubrics_retrieve",
        summary="One rubric and its versions",
        responses=RubricSerializer,
        examples=[ex.response("Rubric", ex.RUBRIC)],
    )
    def get(self, request: Request, rubric_id: int) -> Response:
        rubric = found(rubrics_for(request.user).filter(pk=rubric_id).first())
        return Response(RubricSerializer(rubric).data)


class RubricVersionCreateView(generics.GenericAPIView):
    class InputSerializer(serializers.Serializer):
        criteria = CriterionInputSerializer(many=True, min_length=1, max_length=MAX_CRITERIA)

        class Meta:
            ref_name = "RubricVersionCreate"

    @extend_schema(
        operation_id="rubrics_versions_create",
        summary="Add a new version (its creator or an admin); used versions never change",
        request=InputSerializer,
        responses={201: RubricVersionSerializer},
        examples=[
            ex.request("Edited criteria", {"criteria": ex.CRITERIA_INPUT}),
            ex.response("Version 2", {**ex.RUBRIC_VERSION, "id": 6, "number": 2}, 201),
        ],
    )
    def post(self, request: Request, rubric_id: int) -> Response:
        rubric = found(rubrics_for(request.user).filter(pk=rubric_id).first())
        if not can_edit_rubric(request.user, rubric):
            raise PermissionDenied("Only the rubric's author or an admin adds versions.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = rubric_version_create(
            rubric=rubric,
            criteria=criteria_inputs(data.validated_data["criteria"]),
            created_by=request.user,
        )
        return Response(RubricVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class RubricVersionDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="rubric_versions_retrieve",
        summary="One rubric version with criteria and levels",
        responses=RubricVersionSerializer,
        examples=[ex.response("Version", ex.RUBRIC_VERSION)],
    )
    def get(self, request: Request, version_id: int) -> Response:
        return Response(RubricVersionSerializer(version_for(request.user, version_id)).data)


class NativeLevelSerializer(serializers.Serializer):
    label = serializers.CharField()
    points = serializers.IntegerField()
    descriptor = serializers.CharField(allow_blank=True)


class NativeCriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    max_points = serializers.IntegerField()
    levels = NativeLevelSerializer(many=True)


class NativeRubricSerializer(serializers.Serializer):
    format = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    domain = serializers.CharField(allow_blank=True)
    prompt = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField()
    criteria = NativeCriterionSerializer(many=True)


class RubricVersionExportView(generics.GenericAPIView):
    @extend_schema(
        operation_id="rubric_versions_export",
        summary="Export a version as AAIE rubric JSON (imports again unchanged)",
        responses=NativeRubricSerializer,
        examples=[ex.response("Export", ex.NATIVE_EXPORT)],
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = version_for(request.user, version_id)
        return Response(NativeRubricSerializer(rubric_export(rubric_version=version)).data)


class DatasetCriterionSerializer(serializers.Serializer):
    criterion_id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    performance_descriptors = serializers.DictField(child=serializers.CharField(allow_blank=True))


class DatasetRubricSerializer(serializers.Serializer):
    rubric_id = serializers.CharField()
    criteria = DatasetCriterionSerializer(many=True)


class DatasetSerializer(serializers.Serializer):
    rubric = DatasetRubricSerializer()
    prompt = serializers.CharField(allow_blank=True)
    domain = serializers.CharField(allow_blank=True)


class RubricVersionDatasetExportView(generics.GenericAPIView):
    @extend_schema(
        operation_id="rubric_versions_export_dataset",
        summary="Export a version in the AAIE dataset format (bands best first)",
        responses=DatasetSerializer,
        examples=[ex.response("Dataset", ex.DATASET)],
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = version_for(request.user, version_id)
        return Response(DatasetSerializer(rubric_export_dataset(rubric_version=version)).data)


class RubricImportInputSerializer(serializers.Serializer):
    data = serializers.JSONField(
        help_text="AAIE rubric JSON (as exported) or an AAIE dataset object."
    )
    name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The rubric's name; else the JSON's name or rubric_id.",
    )
    band_points = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=MAX_POINTS),
        required=False,
        default=dict,
        help_text=f"Points per dataset band ({', '.join(DATASET_BANDS)}); defaults 4, 3, 2, 1, 0.",
    )
    criterion_points = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_POINTS),
        required=False,
        default=dict,
        help_text="Weights: {criterion number from 1: its maximum points}; its levels are "
        "scaled from its best level.",
    )

    class Meta:
        ref_name = "RubricImport"

    def validate_criterion_points(self, value: dict) -> dict[int, int]:
        if any(not str(key).isdigit() or len(str(key)) > 3 for key in value):
            raise serializers.ValidationError("Keys are criterion numbers: 1, 2, …")
        return {int(key): points for key, points in value.items()}


def _plan(request: Request):
    require_educator(request.user)
    data = RubricImportInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return rubric_import_plan(**data.validated_data)


class RubricImportView(generics.GenericAPIView):
    class OutputSerializer(serializers.Serializer):
        rubric_version = RubricVersionSerializer()
        reused = serializers.BooleanField(
            help_text="An identical rubric was already in the library: it is returned, not copied."
        )
        prompt = serializers.CharField(
            allow_blank=True, help_text="The dataset's assignment prompt, for the task text."
        )
        domain = serializers.CharField(allow_blank=True)
        warnings = serializers.ListField(
            child=serializers.CharField(),
            help_text="Missing bands, reversed or tied points, fields that were ignored.",
        )

        class Meta:
            ref_name = "RubricImported"

    @extend_schema(
        operation_id="rubrics_import",
        summary="Import a rubric from JSON (AAIE format or the AAIE dataset format)",
        request=RubricImportInputSerializer,
        responses={201: OutputSerializer},
        examples=[
            ex.request(
                "Dataset with chosen band points and a heavier first criterion",
                {
                    "data": ex.DATASET,
                    "band_points": {
                        "excellent": 10,
                        "good": 8,
                        "average": 6,
                        "needs_improvement": 3,
                        "poor": 0,
                    },
                    "criterion_points": {"1": 20},
                },
            ),
            ex.request("AAIE rubric JSON", {"data": ex.NATIVE_EXPORT}),
            ex.response(
                "Imported",
                {
                    "rubric_version": ex.RUBRIC_VERSION,
                    "reused": False,
                    "prompt": ex.DATASET["prompt"],
                    "domain": "",
                    "warnings": [],
                },
                201,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        plan = _plan(request)
        version, reused = rubric_plan_save(plan=plan, created_by=request.user)
        body = {
            "rubric_version": RubricVersionSerializer(version).data,
            "reused": reused,
            "prompt": plan.prompt,
            "domain": plan.domain,
            "warnings": plan.warnings,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class RubricImportPreviewView(generics.GenericAPIView):
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField(help_text="The name it would be saved under (made unique).")
        reuses = serializers.IntegerField(
            allow_null=True, help_text="The id of the identical version in the library, if any."
        )
        prompt = serializers.CharField(allow_blank=True)
        domain = serializers.CharField(allow_blank=True)
        warnings = serializers.ListField(child=serializers.CharField())
        criteria = CriterionInputSerializer(many=True)

        class Meta:
            ref_name = "RubricImportPreview"

    @extend_schema(
        operation_id="rubrics_import_preview",
        summary="What an import would save, with its warnings; nothing is saved",
        request=RubricImportInputSerializer,
        responses={200: OutputSerializer},
        examples=[
            ex.request("Dataset", {"data": ex.DATASET}),
            ex.response(
                "Preview",
                {
                    "name": "recursion-essay",
                    "reuses": None,
                    "prompt": ex.DATASET["prompt"],
                    "domain": ex.DATASET["domain"],
                    "warnings": ["The file: the field 'notes' is not read and was ignored."],
                    "criteria": ex.DATASET_PLAN_CRITERIA,
                },
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        plan = _plan(request)
        existing = rubric_in_library(plan=plan)
        body = {
            "name": existing.rubric.name if existing else unique_rubric_name(plan.name),
            "reuses": existing.pk if existing else None,
            "prompt": plan.prompt,
            "domain": plan.domain,
            "warnings": plan.warnings,
            "criteria": [asdict(criterion) for criterion in plan.criteria],
        }
        return Response(self.OutputSerializer(body).data)
