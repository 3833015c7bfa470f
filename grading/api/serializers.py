"""Output shapes of the API's resources, shared by the views that return them.

Views keep their own nested input serializers; these say what a course, a submission, a run or a
review looks like on the way out. A student's view of a submission never carries an unreleased
grade: `latest_run` is null for students.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from grading.models import GradingRun, RegradeRequest, Submission
from grading.selectors import StudentStatus, student_status, submission_flags_for_student

STUDENT_STATUSES = [
    StudentStatus.SUBMITTED,
    StudentStatus.BEING_GRADED,
    StudentStatus.AWAITING_REVIEW,
    StudentStatus.RELEASED,
]


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")
    email = serializers.EmailField(allow_blank=True)


class CourseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()


class EnrolmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = UserSerializer()
    role = serializers.ChoiceField(choices=["educator", "student"])


class LevelSerializer(serializers.Serializer):
    label = serializers.CharField()
    points = serializers.IntegerField()
    descriptor = serializers.CharField(allow_blank=True)


class CriterionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField(help_text="C1, C2, …: the key the model answers with.")
    order = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    max_points = serializers.IntegerField()
    levels = LevelSerializer(many=True)


class RubricVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rubric = serializers.IntegerField(source="rubric_id")
    rubric_name = serializers.CharField(source="rubric.name")
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    locked = serializers.BooleanField(
        source="is_locked", help_text="Used by a grade: never changes; edits make a new version."
    )
    max_total = serializers.SerializerMethodField()
    criteria = CriterionSerializer(many=True)

    def get_max_total(self, version) -> int:
        return sum(criterion.max_points for criterion in version.criteria.all())


class RubricVersionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RubricSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    domain = serializers.CharField(allow_blank=True, help_text="From an imported dataset.")
    prompt = serializers.CharField(
        allow_blank=True, help_text="The task it was written for, from an imported dataset."
    )
    created_at = serializers.DateTimeField()
    versions = RubricVersionSummarySerializer(many=True)


class AssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    course = serializers.IntegerField(source="course_id")
    title = serializers.CharField()
    task = serializers.CharField()
    reference_notes = serializers.SerializerMethodField(
        help_text="Marking notes for educators; null for students, who never see them."
    )
    due_at = serializers.DateTimeField(allow_null=True)
    rubric_version = serializers.IntegerField(source="rubric_version_id")
    students_may_upload = serializers.BooleanField()
    review_required = serializers.BooleanField()
    students_see_trace = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def get_reference_notes(self, assignment) -> str | None:
        return assignment.reference_notes if self.context.get("educator") else None


class RunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=GradingRun.Status.choices)
    total = serializers.IntegerField(allow_null=True)
    max_total = serializers.IntegerField()
    flags = serializers.ListField(child=serializers.CharField())


class SubmissionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    assignment = serializers.IntegerField(source="assignment_id")
    student = UserSerializer()
    attempt = serializers.IntegerField()
    original_name = serializers.CharField()
    size = serializers.IntegerField()
    content_hash = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    flags = serializers.SerializerMethodField(
        help_text="What reading the file found; the injection and hidden-text checks' verdicts "
        "only for educators."
    )
    status = serializers.SerializerMethodField(
        help_text="Where the submission stands, as its student is told."
    )
    latest_run = serializers.SerializerMethodField(
        help_text="The AI run the educator sees; null for students."
    )
    released = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_flags(self, submission: Submission) -> list[str]:
        if self.context.get("educator"):
            return list(submission.flags)
        return submission_flags_for_student(flags=submission.flags)

    @extend_schema_field(serializers.ChoiceField(choices=STUDENT_STATUSES))
    def get_status(self, submission: Submission) -> str:
        return student_status(submission)

    def get_released(self, submission: Submission) -> bool:
        review = getattr(submission, "review", None)
        return bool(review and review.released)

    @extend_schema_field(RunSummarySerializer(allow_null=True))
    def get_latest_run(self, submission: Submission) -> dict | None:
        run = submission.latest_run
        if run is None or not self.context.get("educator"):
            return None
        return RunSummarySerializer(run).data


class SubmissionDetailSerializer(SubmissionSerializer):
    text = serializers.CharField(help_text="The extracted text the model grades.")


class EvidenceSerializer(serializers.Serializer):
    quote = serializers.CharField()
    verified = serializers.BooleanField(help_text="Found in the submission text.")


class CriterionResultSerializer(serializers.Serializer):
    criterion_id = serializers.IntegerField()
    key = serializers.CharField(source="criterion.key")
    title = serializers.CharField(source="criterion.title")
    level = serializers.CharField(source="level_label")
    points = serializers.IntegerField()
    max_points = serializers.IntegerField(source="criterion.max_points")
    justification = serializers.CharField()
    evidence = EvidenceSerializer(many=True)


class GradingRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    submission = serializers.IntegerField(source="submission_id")
    status = serializers.ChoiceField(choices=GradingRun.Status.choices)
    rubric_version = serializers.IntegerField(source="rubric_version_id")
    model_snapshot = serializers.DictField(help_text="The model profile as it was when queued.")
    prompt_version = serializers.CharField()
    seed = serializers.IntegerField()
    attempts = serializers.IntegerField()
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    total = serializers.IntegerField(allow_null=True)
    max_total = serializers.IntegerField()
    feedback = serializers.CharField(allow_blank=True)
    reasoning_trace = serializers.CharField(
        allow_blank=True, help_text="The model's thinking; grows while the run is running."
    )
    prompt_tokens = serializers.IntegerField(allow_null=True)
    thinking_tokens = serializers.IntegerField(allow_null=True)
    answer_tokens = serializers.IntegerField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField(allow_blank=True)
    error_history = serializers.ListField(child=serializers.JSONField())
    results = CriterionResultSerializer(many=True)


class ReviewCriterionSerializer(serializers.Serializer):
    criterion_id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    max_points = serializers.IntegerField()
    points = serializers.IntegerField(allow_null=True, help_text="Final points; null if none yet.")
    comment = serializers.CharField(allow_blank=True)
    ai_level = serializers.CharField(allow_null=True)
    ai_points = serializers.IntegerField(allow_null=True)
    ai_justification = serializers.CharField(allow_null=True)


class ReviewSerializer(serializers.Serializer):
    submission = serializers.IntegerField()
    saved = serializers.BooleanField(help_text="False: a draft from the AI's points, not stored.")
    based_on_run = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    released = serializers.BooleanField()
    released_at = serializers.DateTimeField(allow_null=True)
    provenance = serializers.CharField(
        allow_null=True,
        help_text="How the points came to be: edited, approved (opened and approved), unopened, "
        "bulk, auto, imported, unknown. Educators only; null for students or before saving.",
    )
    provenance_label = serializers.CharField(allow_null=True)
    total = serializers.IntegerField(allow_null=True)
    max_total = serializers.IntegerField()
    feedback = serializers.CharField(allow_blank=True, help_text="The AI's overall feedback.")
    reasoning_trace = serializers.CharField(
        allow_null=True, help_text="For students only where the assignment allows it."
    )
    criteria = ReviewCriterionSerializer(many=True)


class RegradeRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    submission = serializers.IntegerField(source="submission_id")
    assignment = serializers.IntegerField(source="submission.assignment_id")
    student = UserSerializer()
    criteria = serializers.SerializerMethodField()
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=RegradeRequest.Status.choices)
    response = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)

    def get_criteria(self, request: RegradeRequest) -> list[int]:
        return [criterion.pk for criterion in request.criteria.all()]
