"""Reviews: read (educators always, students once released), override, approve, release."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from grading import selectors
from grading.api import examples as ex
from grading.api.common import MAX_ID
from grading.api.serializers import ReviewSerializer
from grading.api.views.submissions import submission_for_member, submission_for_teacher
from grading.models import GradingRun, Submission
from grading.permissions import can_read_feedback
from grading.services.reviews import (
    MAX_COMMENT_CHARS,
    review_approve,
    review_initial_points,
    review_release,
    review_rubric_version,
    review_save,
)


def released_review_data(submission: Submission) -> dict:
    """The review as its student sees it: the grade as released, whatever changed since."""
    review = submission.review
    grade, run = selectors.released_grade(review=review)
    ai = selectors.run_results(run=run) if run else {}
    rows = []
    for row in grade["criteria"]:
        result = ai.get(row["criterion_id"])
        # The AI's reasons only where its points stood: else they explain a score not given.
        kept = result is not None and result.points == row["points"]
        rows.append(
            {
                **row,
                "ai_level": result.level_label if kept else None,
                "ai_points": result.points if kept else None,
                "ai_justification": result.justification if kept else None,
            }
        )
    return {
        "submission": submission.pk,
        "saved": True,
        "based_on_run": grade["run"],
        "comment": grade["comment"],
        "approved_by": review.approved_by.get_username() if review.approved_by else None,
        "approved_at": review.approved_at,
        "released": True,
        "released_at": review.released_at,
        "total": grade["total"],
        "max_total": grade["max_total"],
        # The overall feedback is the educator's (it starts as the AI's draft) as released.
        "feedback": grade["comment"],
        "reasoning_trace": run.reasoning_trace
        if run and submission.assignment.students_see_trace
        else None,
        "criteria": rows,
    }


def review_data(submission: Submission, *, educator: bool) -> dict:
    """The review as the API shows it: saved points, else (for educators) the AI's as a draft."""
    if not educator:
        return released_review_data(submission)
    review = getattr(submission, "review", None)
    run = submission.latest_run
    succeeded = run is not None and run.status == GradingRun.Status.SUCCEEDED
    ai = selectors.run_results(run=run) if succeeded else {}
    saved = selectors.review_points(submission=submission)
    draft = review_initial_points(submission=submission)
    criteria = selectors.rubric_version_criteria(
        rubric_version=review_rubric_version(submission=submission)
    )
    rows = []
    for criterion in criteria:
        item, result = saved.get(criterion.pk), ai.get(criterion.pk)
        rows.append(
            {
                "criterion_id": criterion.pk,
                "key": criterion.key,
                "title": criterion.title,
                "max_points": criterion.max_points,
                "points": item.points if item else draft.get(criterion.pk),
                "comment": item.comment if item else "",
                "ai_level": result.level_label if result else None,
                "ai_points": result.points if result else None,
                "ai_justification": result.justification if result else None,
            }
        )
    points = [row["points"] for row in rows]
    return {
        "submission": submission.pk,
        "saved": review is not None,
        "based_on_run": review.based_on_run_id if review else (run.pk if succeeded else None),
        "comment": review.comment if review else "",
        "approved_by": review.approved_by.get_username() if review and review.approved_by else None,
        "approved_at": review.approved_at if review else None,
        "released": bool(review and review.released),
        "released_at": review.released_at if review else None,
        "provenance": review.provenance if review and educator else None,
        "provenance_label": review.provenance_label if review and educator else None,
        "total": sum(points) if points and None not in points else None,
        "max_total": sum(row["max_points"] for row in rows),
        "feedback": run.feedback if succeeded else "",
        "reasoning_trace": run.reasoning_trace if succeeded else None,
        "criteria": rows,
    }


def _reviewed(submission: Submission):
    review = getattr(submission, "review", None)
    if review is None:
        raise exceptions.ValidationError({"non_field_errors": ["Save the review first (PUT)."]})
    return review


class CriterionPointsSerializer(serializers.Serializer):
    criterion_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    points = serializers.IntegerField(min_value=0)
    comment = serializers.CharField(
        max_length=MAX_COMMENT_CHARS, required=False, allow_blank=True, default=""
    )


class ReviewView(generics.GenericAPIView):
    class InputSerializer(serializers.Serializer):
        criteria = CriterionPointsSerializer(
            many=True, help_text="Points (and a comment) for every criterion."
        )
        comment = serializers.CharField(
            max_length=MAX_COMMENT_CHARS, required=False, allow_blank=True, default=""
        )

        class Meta:
            ref_name = "ReviewSave"

    @extend_schema(
        operation_id="reviews_retrieve",
        summary="The review of a submission (students: only once released)",
        responses=ReviewSerializer,
        examples=[ex.response("Review", ex.REVIEW)],
    )
    def get(self, request: Request, submission_id: int) -> Response:
        submission, teaches = submission_for_member(request.user, submission_id)
        if not teaches and not can_read_feedback(request.user, submission):
            raise exceptions.NotFound("No released feedback here.")
        return Response(ReviewSerializer(review_data(submission, educator=teaches)).data)

    @extend_schema(
        operation_id="reviews_save",
        summary="Set the final points and comments (every change is audited)",
        request=InputSerializer,
        responses=ReviewSerializer,
        examples=[
            ex.request(
                "Override",
                {
                    "criteria": [{"criterion_id": 11, "points": 3, "comment": "A small slip."}],
                    "comment": "Well done.",
                },
            ),
            ex.response("Saved", {**ex.REVIEW, "approved_by": None, "approved_at": None}),
        ],
    )
    def put(self, request: Request, submission_id: int) -> Response:
        submission = submission_for_teacher(request.user, submission_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data["criteria"]
        review_save(
            submission=submission,
            actor=request.user,
            points={item["criterion_id"]: item["points"] for item in items},
            comments={item["criterion_id"]: item["comment"] for item in items},
            comment=data.validated_data["comment"],
        )
        submission = submission_for_teacher(request.user, submission_id)
        return Response(ReviewSerializer(review_data(submission, educator=True)).data)


class ReviewApproveView(generics.GenericAPIView):
    @extend_schema(
        operation_id="reviews_approve",
        summary="Approve the saved review",
        request=None,
        responses=ReviewSerializer,
        examples=[ex.response("Approved", ex.REVIEW)],
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission = submission_for_teacher(request.user, submission_id)
        review_approve(review=_reviewed(submission), actor=request.user)
        submission = submission_for_teacher(request.user, submission_id)
        return Response(ReviewSerializer(review_data(submission, educator=True)).data)


class ReviewReleaseView(generics.GenericAPIView):
    @extend_schema(
        operation_id="reviews_release",
        summary="Release the saved review to the student (approves it too)",
        request=None,
        responses=ReviewSerializer,
        examples=[ex.response("Released", {**ex.REVIEW, "released": True, "released_at": ex.WHEN})],
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission = submission_for_teacher(request.user, submission_id)
        review_release(review=_reviewed(submission), actor=request.user)
        submission = submission_for_teacher(request.user, submission_id)
        return Response(ReviewSerializer(review_data(submission, educator=True)).data)
