"""Load a demo course: an admin, an educator, two students, a rubric, an assignment, submissions.

Safe to run again: it does nothing when the demo course exists.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction

from grading.models import Course, Enrolment
from grading.services.courses import assignment_create, course_create, enrolment_set
from grading.services.rubrics import CriterionInput, LevelInput, rubric_create
from grading.services.submissions import submission_create

DEMO_COURSE_CODE = "DEMO101"

# Demo logins, printed by the command. Only for a local demo database.
DEMO_USERS = [
    # username, password, first, last, role
    ("admin", "demo-admin-pass", "Ada", "Admin", "admin"),
    ("educator", "demo-educator-pass", "Grace", "Hopper", "educator"),
    ("alan", "demo-student-pass", "Alan", "Turing", "student"),
    ("barbara", "demo-student-pass", "Barbara", "Liskov", "student"),
]

TASK = """Write a short explanation (150–300 words) of recursion for a first-year student.
Explain what a base case and a recursive case are, and walk through one example in Python."""

REFERENCE = """A full answer names the base case and the recursive case, explains why the base case
stops the recursion, and traces an example such as factorial or summing a list."""

RUBRIC = [
    CriterionInput(
        title="Correctness",
        description="The explanation of recursion is accurate.",
        max_points=4,
        levels=[
            LevelInput("Excellent", 4, "Accurate, names base and recursive case, no errors."),
            LevelInput("Good", 3, "Accurate with a minor gap."),
            LevelInput("Partial", 2, "Some correct ideas, a notable error or omission."),
            LevelInput("Poor", 0, "Mostly incorrect or missing."),
        ],
    ),
    CriterionInput(
        title="Example",
        description="A worked Python example that is traced step by step.",
        max_points=3,
        levels=[
            LevelInput("Excellent", 3, "Correct code, traced step by step."),
            LevelInput("Adequate", 2, "Correct code, little tracing."),
            LevelInput("Weak", 1, "Code with errors or no tracing."),
            LevelInput("Missing", 0, "No example."),
        ],
    ),
    CriterionInput(
        title="Clarity",
        description="Clear for a first-year student.",
        max_points=3,
        levels=[
            LevelInput("Clear", 3, "Well organised and easy to follow."),
            LevelInput("Mostly clear", 2, "Some confusing passages."),
            LevelInput("Unclear", 1, "Hard to follow."),
            LevelInput("Incoherent", 0, "Cannot be followed."),
        ],
    ),
]

SUBMISSIONS = {
    "alan": (
        "recursion.md",
        """# Recursion

A recursive function is a function that calls itself on a smaller version of the problem.
Every recursive function needs a **base case**, which answers the smallest problem directly,
and a **recursive case**, which reduces the problem and calls the function again.
Without a base case the calls never stop and Python raises RecursionError.

```python
def factorial(n):
    if n == 0:          # base case
        return 1
    return n * factorial(n - 1)   # recursive case
```

factorial(3) calls factorial(2), which calls factorial(1), which calls factorial(0).
factorial(0) returns 1, so factorial(1) returns 1, factorial(2) returns 2 and
factorial(3) returns 6.
""",
    ),
    "barbara": (
        "answer.txt",
        """Recursion is when a function uses a loop to repeat itself.
For example:

def total(items):
    return items[0] + total(items[1:])

This adds up a list. It always works.
""",
    ),
}


class Command(BaseCommand):
    help = "Load the demo course, users, rubric, assignment and submissions (once)."

    def handle(self, *args, **options) -> None:
        if Course.objects.filter(code=DEMO_COURSE_CODE).exists():
            self.stdout.write("Demo data is loaded already.")
        else:
            self._load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write("Demo logins (local demo only):")
        for username, password, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {role:<9} {username:<9} {password}")

    @transaction.atomic
    def _load(self) -> None:
        User = get_user_model()
        users = {}
        for username, password, first, last, role in DEMO_USERS:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            user.set_password(password)
            user.is_staff = user.is_superuser = role == "admin"
            user.save()
            users[username] = user
        course = course_create(
            code=DEMO_COURSE_CODE, title="Introduction to Programming", created_by=users["educator"]
        )
        for username in SUBMISSIONS:
            enrolment_set(course=course, user=users[username], role=Enrolment.Role.STUDENT)
        rubric_version = rubric_create(
            name="Explaining a concept", criteria=RUBRIC, created_by=users["educator"]
        )
        assignment = assignment_create(
            course=course,
            title="Explain recursion",
            task=TASK,
            reference_notes=REFERENCE,
            rubric_version=rubric_version,
        )
        for username, (file_name, text) in SUBMISSIONS.items():
            submission_create(
                assignment=assignment,
                student=users[username],
                upload=SimpleUploadedFile(file_name, text.encode()),
                uploaded_by=users["educator"],
            )
