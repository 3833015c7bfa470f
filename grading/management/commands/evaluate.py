"""Grade a calibration set with one or more model profiles and report how far each agrees.

    manage.py evaluate --calibration "Essays 2025" --profile "Qwen3-8B on vLLM" --profile default

The set is graded by the running Celery workers, one profile after another (a set is graded by
one profile at a time), as trials that never touch a student's grade. With --inline this process
grades the runs itself, through the same code a worker runs. Each report goes to standard output
as a table and, with --json / --html, to files.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string

from grading.errors import ApplicationError
from grading.models import CalibrationSet, Evaluation, GradingRun, ModelProfile
from grading.services.evaluation import (
    DEFAULT_PROFILE_NAME,
    EvaluationReport,
    evaluation_report,
    evaluation_request,
)
from grading.services.grading import TransientGradingError, grading_run_execute

DEFAULT_PROFILE = "default"
POLL_SECONDS = 2.0


def _calibration_set(value: str) -> CalibrationSet:
    sets = CalibrationSet.objects.select_related("assignment__rubric_version")
    found = sets.filter(pk=int(value)).first() if value.isdigit() else None
    found = found or sets.filter(name=value).order_by("-created_at").first()
    if found is None:
        raise CommandError(f"No calibration set with the id or name {value!r}.")
    return found


def _profile(name: str) -> ModelProfile | None:
    if name == DEFAULT_PROFILE:
        return None
    profile = ModelProfile.objects.filter(name=name).first()
    if profile is None:
        known = ", ".join(ModelProfile.objects.values_list("name", flat=True)) or "none"
        raise CommandError(
            f"No model profile {name!r} (known: {known}; '{DEFAULT_PROFILE}' is the settings')."
        )
    return profile


def _figure(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = "Grade a calibration set with model profiles and report agreement with its marks."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--calibration", required=True, help="Calibration set id or name.")
        parser.add_argument(
            "--profile",
            action="append",
            required=True,
            help=f"Model profile name, or '{DEFAULT_PROFILE}'; repeat to compare profiles.",
        )
        parser.add_argument("--timeout", type=float, default=6 * 3600, help="Seconds per profile.")
        parser.add_argument("--inline", action="store_true", help="Grade in this process.")
        parser.add_argument(
            "--json", dest="json_path", type=Path, help="Write the reports as JSON here."
        )
        parser.add_argument(
            "--html", dest="html_path", type=Path, help="Write the reports as an HTML page here."
        )

    def handle(self, *args, calibration, profile, timeout, inline, json_path, html_path, **options):
        calibration_set = _calibration_set(calibration)
        profiles = [_profile(name) for name in profile]
        reports = []
        for chosen in profiles:
            name = chosen.name if chosen else DEFAULT_PROFILE_NAME
            self.stdout.write(f"Grading “{calibration_set.name}” with {name} …")
            try:
                evaluation = evaluation_request(
                    calibration_set=calibration_set, profile=chosen, requested_by=None
                )
            except ApplicationError as error:
                raise CommandError(error.message) from None
            if inline:
                self._grade_here(evaluation)
            report = self._wait(evaluation, timeout)
            self._print(report)
            reports.append(report)
        if json_path:
            self._write_json(json_path, reports)
        if html_path:
            html_path.write_text(
                render_to_string("grading/evaluation_file.html", {"reports": reports}),
                encoding="utf-8",
            )
            self.stdout.write(f"HTML report: {html_path}")

    def _grade_here(self, evaluation: Evaluation) -> None:
        """Grade every queued run of the evaluation in this process, a batch at a time."""
        queued = evaluation.runs.filter(status=GradingRun.Status.QUEUED)
        while (run_id := queued.values_list("pk", flat=True).first()) is not None:
            try:
                grading_run_execute(run_id=run_id)
            except TransientGradingError as error:
                raise CommandError(f"The model failed for now ({error}); try again.") from None

    def _wait(self, evaluation: Evaluation, timeout: float) -> EvaluationReport:
        deadline = time.monotonic() + timeout
        shown = None
        while True:
            report = evaluation_report(evaluation=evaluation)
            progress = ", ".join(f"{n} {status}" for status, n in report.status_counts.items())
            if progress != shown:
                self.stdout.write(f"  runs: {progress}")
                shown = progress
            if report.done:
                return report
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Evaluation {evaluation.pk} did not finish within {timeout:.0f} s; is a "
                    f"grading worker running? Its runs go on; read the report on its page later."
                )
            time.sleep(POLL_SECONDS)

    def _print(self, report: EvaluationReport) -> None:
        agreement = report.agreement
        self.stdout.write(
            f"{report.evaluation.profile_name}: {agreement.judged} compared with a mark, "
            f"{report.status_counts.get(GradingRun.Status.FAILED, 0)} failed"
        )
        rows = [("total", agreement.total), ("all criteria", agreement.overall)]
        rows += [
            (f"{row.criterion.key} {row.criterion.title}", row.figures)
            for row in agreement.criteria
        ]
        for label, figures in rows:
            interval = figures.kappa_interval
            kappa = _figure(figures.quadratic_weighted_kappa)
            if interval:
                kappa += f" [{interval[0]:.2f}, {interval[1]:.2f}]"
            self.stdout.write(
                f"  {label[:40]:<40} n={figures.count:<4} exact={_figure(figures.exact)} "
                f"mad={_figure(figures.mean_absolute_difference)} "
                f"signed={_figure(figures.mean_signed_difference)} kappa={kappa}"
                + (f"  ({figures.warning})" if figures.warning else "")
            )

    def _write_json(self, path: Path, reports: list[EvaluationReport]) -> None:
        path.write_text(
            json.dumps([report.as_dict() for report in reports], indent=2), encoding="utf-8"
        )
        self.stdout.write(f"JSON report: {path}")
