"""The class bench/web.py measures: one assignment with many AI-graded submissions.

Imported once Django is set up. Rows are written with bulk_create, so 1,000 submissions take
seconds; their content is what the pages show: essays and reasoning traces of a few KB,
per-criterion results with verified evidence, some reviews, approvals and releases, and a few
flags on files and on runs.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from grading.models import (
    Assignment,
    AuditEvent,
    Criterion,
    CriterionResult,
    CriterionReview,
    Enrolment,
    GradingRun,
    Review,
    Submission,
)
from grading.services.courses import assignment_create, course_create
from grading.services.grading import PROMPT_VERSION, model_snapshot_for
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create

# Words of the essays, traces and justifications.
VOCABULARY = (
    "recursion base case call stack function returns smaller problem input termination "
    "iteration loop memory frame factorial fibonacci tree traversal divide conquer proof "
    "induction invariant example because therefore however each step until reaches"
)
WORDS = VOCABULARY.split()
LEVELS = [LevelInput("Excellent", 4), LevelInput("Good", 3), LevelInput("Poor", 1)]
CRITERIA = ("Correctness", "Clarity", "Examples", "Structure")
# One file in FLAGGED_FILE_EVERY is flagged, and one AI run in FLAGGED_RUN_EVERY.
FLAGGED_FILE_EVERY = 50
FLAGGED_RUN_EVERY = 40
# One submission in REVIEWED_EVERY is reviewed; of those, half approved, a quarter released.
REVIEWED_EVERY = 3


@dataclass(frozen=True)
class Seeded:
    assignment_id: int
    educator_id: int
    submission_ids: list[int]


def prose(rng: random.Random, size: int) -> str:
    """Student-like lines of text, about `size` characters."""
    lines, length = [], 0
    while length < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + "."
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)


@transaction.atomic
def seed(count: int) -> Seeded:
    """One course, one assignment and `count` students, each with an AI-graded submission."""
    rng = random.Random(9)
    educator = get_user_model().objects.create(
        username="bench-educator", password=make_password(None)
    )
    assignment = assignment_with_rubric(educator)
    submissions = submissions_of_new_students(assignment, educator, count, rng)
    criteria = list(assignment.rubric_version.criteria.order_by("order"))
    graded_runs(assignment, submissions, criteria, educator, rng)
    reviews(submissions[::REVIEWED_EVERY], criteria, educator, rng)
    return Seeded(assignment.pk, educator.pk, [s.pk for s in submissions])


def assignment_with_rubric(educator) -> Assignment:
    course = course_create(code="BENCH101", title="Benchmark course", created_by=educator)
    rubric_version = rubric_create(
        name="Essay",
        criteria=[
            CriterionInput(title, 4, LEVELS, description=f"How well the essay does {title}.")
            for title in CRITERIA
        ],
        created_by=educator,
    )
    return assignment_create(
        course=course,
        title="Explain recursion",
        task="Explain recursion with an example.",
        rubric_version=rubric_version,
    )


def submissions_of_new_students(
    assignment: Assignment, educator, count: int, rng: random.Random
) -> list[Submission]:
    """`count` enrolled students, each with one submitted essay; surnames repeat."""
    user_model = get_user_model()
    password = make_password(None)  # unusable: students never log in here
    students = user_model.objects.bulk_create(
        user_model(
            username=f"student{number:05d}",
            first_name=f"First{number}",
            last_name=f"Last{rng.randint(0, count)}",
            password=password,
        )
        for number in range(count)
    )
    Enrolment.objects.bulk_create(
        Enrolment(course=assignment.course, user=s, role=Enrolment.Role.STUDENT) for s in students
    )
    suspected = {"injection_suspected": {"score": 0.7, "passages": []}}
    texts = [prose(rng, rng.randint(2000, 5000)) for _ in students]
    return Submission.objects.bulk_create(
        Submission(
            assignment=assignment,
            student=student,
            original_name=f"{student.username}.txt",
            original_file=f"submissions/{assignment.pk}/{student.username}",
            text=text,
            content_hash=secrets.token_hex(32),
            size=len(text),
            uploaded_by=educator,
            flags=suspected if index % FLAGGED_FILE_EVERY == 0 else {},
        )
        for index, (student, text) in enumerate(zip(students, texts, strict=True))
    )


def graded_runs(
    assignment: Assignment,
    submissions: list[Submission],
    criteria: list[Criterion],
    educator,
    rng: random.Random,
) -> None:
    """A succeeded AI run per submission, with a result per criterion, as its latest run."""
    snapshot = model_snapshot_for(assignment=assignment)
    finished = timezone.now() - timedelta(minutes=4)
    runs = GradingRun.objects.bulk_create(
        GradingRun(
            submission=submission,
            rubric_version=assignment.rubric_version,
            model_snapshot=snapshot,
            prompt_version=PROMPT_VERSION,
            seed=rng.randrange(2**31),
            status=GradingRun.Status.SUCCEEDED,
            requested_by=educator,
            attempts=1,
            reasoning_trace=prose(rng, rng.randint(2000, 6000)),
            raw_answer=json.dumps({"criteria": prose(rng, 1500).split("\n")}),
            feedback=prose(rng, 400),
            max_total=max(level.points for level in LEVELS) * len(criteria),
            prompt_tokens=900,
            thinking_tokens=rng.randint(300, 1500),
            answer_tokens=300,
            flags=["thinking_budget_reached"] if index % FLAGGED_RUN_EVERY == 0 else [],
            started_at=finished - timedelta(minutes=1),
            finished_at=finished,
        )
        for index, submission in enumerate(submissions)
    )
    results = []
    for run, submission in zip(runs, submissions, strict=True):
        run_results = [ai_result(run, criterion, submission.text, rng) for criterion in criteria]
        run.total = sum(result.points for result in run_results)
        results.extend(run_results)
        submission.latest_run = run
    CriterionResult.objects.bulk_create(results)
    GradingRun.objects.bulk_update(runs, ["total"])
    Submission.objects.bulk_update(submissions, ["latest_run"])


def ai_result(
    run: GradingRun, criterion: Criterion, text: str, rng: random.Random
) -> CriterionResult:
    """A level with a justification and one quote that the submission really contains."""
    level = rng.choice(LEVELS)
    start = rng.randrange(max(1, len(text) - 80))
    return CriterionResult(
        run=run,
        criterion=criterion,
        level_label=level.label,
        points=level.points,
        justification=prose(rng, 300),
        evidence=[{"quote": text[start : start + 60], "verified": True}],
    )


def reviews(
    submissions: list[Submission], criteria: list[Criterion], educator, rng: random.Random
) -> None:
    """An educator's review of each submission, with a change per criterion in the audit log;
    every other review approved and every fourth released."""
    now = timezone.now()
    saved = Review.objects.bulk_create(
        Review(
            submission=submission,
            based_on_run=submission.latest_run,
            comment=prose(rng, 200),
            approved_by=educator if index % 2 == 0 else None,
            approved_at=now if index % 2 == 0 else None,
            released=index % 4 == 0,
            released_at=now if index % 4 == 0 else None,
        )
        for index, submission in enumerate(submissions)
    )
    CriterionReview.objects.bulk_create(
        CriterionReview(review=review, criterion=criterion, points=rng.choice(LEVELS).points)
        for review in saved
        for criterion in criteria
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=educator,
            submission=submission,
            action="points",
            field=criterion.title,
            old_value="3",
            new_value="4",
        )
        for submission in submissions
        for criterion in criteria
    )
