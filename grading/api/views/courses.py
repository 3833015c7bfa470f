"""Courses, their enrolments and their assignments."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.common import Filter, FilterBackend, found, require_educator
from grading.api.serializers import AssignmentSerializer, CourseSerializer, EnrolmentSerializer
from grading.errors import ApplicationError
from grading.models import Course, Enrolment, ModelProfile
from grading.permissions import can_teach, is_admin
from grading.services.courses import assignment_create, course_create, enrolment_set

MAX_TASK_CHARS = 20_000


def courses_visible_to(user) -> QuerySet[Course]:
    """Admins see every course; others the courses they teach or study in."""
    if is_admin(user):
        return Course.objects.all()
    return Course.objects.filter(enrolments__user=user).distinct()


def course_for_member(user, course_id: int) -> Course:
    return found(courses_visible_to(user).filter(pk=course_id).first())


def course_for_teacher(user, course_id: int) -> Course:
    """The course if the user teaches it; 403 for students, 404 for anyone else."""
    require_educator(user)
    return found(selectors.course_for_educator(user=user, course_id=course_id))


class CourseListView(generics.GenericAPIView):
    filter_backends = [SearchFilter, OrderingFilter]
    search_fields = ["code", "title"]
    ordering_fields = ["code", "title", "created_at"]
    ordering = ["code"]

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=32)
        title = serializers.CharField(max_length=200)

        class Meta:
            ref_name = "CourseCreate"

    def get_queryset(self):
        return courses_visible_to(self.request.user)

    @extend_schema(
        operation_id="courses_list",
        summary="Courses you teach or study in (admins: all)",
        responses=CourseSerializer(many=True),
        examples=[ex.response("Courses", ex.page(ex.COURSE))],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CourseSerializer(page, many=True).data)

    @extend_schema(
        operation_id="courses_create",
        summary="Create a course; you teach it",
        request=InputSerializer,
        responses={201: CourseSerializer},
        examples=[
            ex.request("New course", {"code": "CS101", "title": "Programming"}),
            ex.response("Created", ex.COURSE, 201),
        ],
    )
    def post(self, request: Request) -> Response:
        require_educator(request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        course = course_create(**data.validated_data, created_by=request.user)
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)


class CourseDetailView(generics.GenericAPIView):
    @extend_schema(
        operation_id="courses_retrieve",
        summary="One course",
        responses=CourseSerializer,
        examples=[ex.response("Course", ex.COURSE)],
    )
    def get(self, request: Request, course_id: int) -> Response:
        return Response(CourseSerializer(course_for_member(request.user, course_id)).data)


class EnrolmentListView(generics.GenericAPIView):
    filter_backends = [FilterBackend, SearchFilter]
    filters = {
        "role": Filter("role", choices=tuple(Enrolment.Role.values), description="Only this role.")
    }
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        email = serializers.EmailField(
            required=False,
            allow_blank=True,
            default="",
            help_text="The account's email: needed for an account outside your courses.",
        )
        role = serializers.ChoiceField(choices=Enrolment.Role.choices)

        class Meta:
            ref_name = "EnrolmentSet"

    def get_queryset(self):
        course = course_for_teacher(self.request.user, self.kwargs["course_id"])
        return course.enrolments.select_related("user").order_by("role", "user__username")

    @extend_schema(
        operation_id="enrolments_list",
        summary="Who is in a course (educators of the course)",
        responses=EnrolmentSerializer(many=True),
        examples=[ex.response("Enrolments", ex.page(ex.ENROLMENT))],
    )
    def get(self, request: Request, course_id: int) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(EnrolmentSerializer(page, many=True).data)

    @extend_schema(
        operation_id="enrolments_set",
        summary="Enrol an existing user (by username, and email if outside your courses)",
        request=InputSerializer,
        responses={200: EnrolmentSerializer},
        examples=[
            ex.request("Enrol a student", {"username": "ada", "role": "student"}),
            ex.response("Enrolment", ex.ENROLMENT),
        ],
    )
    def post(self, request: Request, course_id: int) -> Response:
        course = course_for_teacher(request.user, course_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = selectors.account_to_enrol(
            user=request.user,
            username=data.validated_data["username"],
            email=data.validated_data["email"],
        )
        if user is None:
            # One answer for an unknown username and a wrong email: nothing to enumerate.
            raise ApplicationError(
                "No account you may enrol has this username; for an account outside your "
                "courses, give its email too.",
                field="username",
            )
        enrolment = enrolment_set(course=course, user=user, role=data.validated_data["role"])
        return Response(EnrolmentSerializer(enrolment).data)


class AssignmentListView(generics.GenericAPIView):
    filter_backends = [SearchFilter, OrderingFilter]
    search_fields = ["title"]
    ordering_fields = ["title", "due_at", "created_at"]
    ordering = ["-created_at"]

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        task = serializers.CharField(max_length=MAX_TASK_CHARS)
        reference_notes = serializers.CharField(
            max_length=MAX_TASK_CHARS, required=False, allow_blank=True, default=""
        )
        due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        rubric_version = serializers.PrimaryKeyRelatedField(
            queryset=selectors.rubric_versions_for_educator(user=None),
            help_text="A version from the rubric library (GET /rubrics/).",
        )
        model_profile = serializers.SlugRelatedField(
            slug_field="name",
            queryset=ModelProfile.objects.all(),
            required=False,
            allow_null=True,
            default=None,
            help_text="A model profile's name; empty for the default model.",
        )
        review_required = serializers.BooleanField(required=False, default=True)
        students_see_trace = serializers.BooleanField(required=False, default=False)

        class Meta:
            ref_name = "AssignmentCreate"

    @extend_schema(
        operation_id="assignments_list",
        summary="Assignments of a course (reference notes only for its educators)",
        responses=AssignmentSerializer(many=True),
        examples=[ex.response("Assignments", ex.page(ex.ASSIGNMENT))],
    )
    def get(self, request: Request, course_id: int) -> Response:
        course = course_for_member(request.user, course_id)
        teaches = can_teach(request.user, course)
        assignments = selectors.class_assignments(course=course)
        page = self.paginate_queryset(self.filter_queryset(assignments))
        return self.get_paginated_response(
            AssignmentSerializer(page, many=True, context={"educator": teaches}).data
        )

    @extend_schema(
        operation_id="assignments_create",
        summary="Create an assignment graded by a rubric version",
        request=InputSerializer,
        responses={201: AssignmentSerializer},
        examples=[
            ex.request(
                "New assignment",
                {
                    "title": "Explain recursion",
                    "task": "Explain recursion with an example.",
                    "reference_notes": "Mentions a base case.",
                    "rubric_version": 5,
                },
            ),
            ex.response("Created", ex.ASSIGNMENT, 201),
        ],
    )
    def post(self, request: Request, course_id: int) -> Response:
        course = course_for_teacher(request.user, course_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = assignment_create(course=course, **data.validated_data)
        return Response(
            AssignmentSerializer(assignment, context={"educator": True}).data,
            status=status.HTTP_201_CREATED,
        )
