"""Import already-marked work into a course as a calibration set, from the command line.

    manage.py import_calibration --course CS101 --file essays.json [--name "Essays 2025"]
    manage.py import_calibration --course CS101 --csv labels.csv --zip class.zip \\
        --rubric-version 5 --task "Explain recursion." [--name ...]

It prints what was imported, the warnings, and every entry or row left out with its reason.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from grading.errors import ApplicationError
from grading.models import Course, RubricVersion
from grading.services.calibration import CalibrationImport, calibration_import_upload


class Command(BaseCommand):
    help = "Import a calibration set: an AAIE dataset JSON, or a labels CSV beside a class ZIP."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--course", required=True, help="The course's code.")
        parser.add_argument("--file", type=Path, help="An AAIE dataset .json.")
        parser.add_argument("--csv", type=Path, help="Labels: student_or_file, criterion, …")
        parser.add_argument("--zip", type=Path, help="With --csv: the class ZIP.")
        parser.add_argument("--rubric-version", type=int, help="With --csv: its id.")
        parser.add_argument("--task", default="", help="With --csv: the assignment's task.")
        parser.add_argument("--name", default="", help="The set's name.")
        parser.add_argument("--as", dest="username", default="", help="Who imports it.")

    def handle(self, *args, **options) -> None:
        course = Course.objects.filter(code__iexact=options["course"]).first()
        if course is None:
            raise CommandError(f"No course has the code {options['course']}.")
        user = None
        if options["username"]:
            user = get_user_model().objects.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(f"No user is called {options['username']}.")
        try:
            result = self._import(course, user, options)
        except (ApplicationError, OSError) as error:
            raise CommandError(getattr(error, "message", str(error))) from None
        self._report(result)
        if result.calibration_set is None:
            raise CommandError("Nothing was imported: no entry was good.")

    def _import(self, course, user, options) -> CalibrationImport:
        rubric_version = None
        if options["rubric_version"] is not None:
            rubric_version = RubricVersion.objects.filter(pk=options["rubric_version"]).first()
            if rubric_version is None:
                raise CommandError(f"No rubric version has the id {options['rubric_version']}.")
        with ExitStack() as stack:
            files = {
                field: File(stack.enter_context(path.open("rb")), name=path.name)
                for field, path in (
                    ("dataset", options["file"]),
                    ("labels", options["csv"]),
                    ("archive", options["zip"]),
                )
                if path is not None
            }
            return calibration_import_upload(
                course=course,
                created_by=user,
                rubric_version=rubric_version,
                task=options["task"],
                name=options["name"],
                **files,
            )

    def _report(self, result: CalibrationImport) -> None:
        if result.calibration_set is not None:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported {result.stored} submission(s) into calibration set "
                    f"{result.calibration_set.pk} “{result.calibration_set.name}” "
                    f"(assignment {result.calibration_set.assignment_id})"
                    + (", reusing the library's rubric." if result.rubric_reused else ".")
                )
            )
        for warning in result.warnings:
            self.stdout.write(f"Warning: {warning}")
        if result.problems:
            self.stdout.write(f"Left out ({len(result.problems)}):")
        for problem in result.problems:
            self.stdout.write(f"  {problem.where}: {problem.reason}")
