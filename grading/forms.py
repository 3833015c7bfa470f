"""Forms: parse and check input, then hand plain values to a service."""

from __future__ import annotations

import hashlib
import uuid

from django import forms

from grading.ingest.detect import ACCEPTED_EXTENSIONS
from grading.models import Criterion, ModelProfile, RubricVersion
from grading.services.rubric_library import DEFAULT_BAND_POINTS, band_label
from grading.services.rubrics import CriterionInput, LevelInput

MAX_TASK_CHARS = 20_000
MAX_LEVEL_LINE_PARTS = 3


class AssignmentForm(forms.Form):
    title = forms.CharField(max_length=200)
    task = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=MAX_TASK_CHARS,
        help_text="Shown to students and to the model.",
    )
    reference_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_TASK_CHARS,
        required=False,
        help_text="Reference answer or marking notes for the grader; never shown to students.",
    )
    due_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label="Due",
    )
    review_required = forms.BooleanField(
        required=False,
        initial=True,
        label="AI grades need my review before students see them",
        help_text="Off: clean AI grades are released at once; flagged ones still wait for you.",
    )
    students_may_upload = forms.BooleanField(
        required=False, label="Students may upload their own work until the due date"
    )
    students_see_trace = forms.BooleanField(
        required=False, label="Students may read the grader's reasoning trace"
    )
    rubric_version = forms.ModelChoiceField(
        queryset=RubricVersion.objects.none(),
        required=False,
        label="Reuse a rubric from the library",
        empty_label="— No, write a new rubric below —",
    )
    rubric_name = forms.CharField(max_length=200, required=False, label="New rubric's name")

    def __init__(self, *args, rubric_versions=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if rubric_versions is not None:
            self.fields["rubric_version"].queryset = rubric_versions


class AssignmentEditForm(AssignmentForm):
    """The set-up fields of an existing assignment; its rubric changes on its own page."""

    regrade = forms.BooleanField(
        required=False,
        label="Grade every newest attempt again with the AI if the task or notes change",
        help_text="Grades made before were made against the old text.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["rubric_version"]
        del self.fields["rubric_name"]


class CourseForm(forms.Form):
    code = forms.CharField(max_length=32, help_text="Short and unique, such as CS101-2026.")
    title = forms.CharField(max_length=200)


class CriterionForm(forms.Form):
    title = forms.CharField(max_length=200, required=False)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )
    max_points = forms.IntegerField(min_value=1, max_value=1000, required=False)
    levels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5000,
        help_text="One level a line: label | points | descriptor",
    )

    def clean_levels(self) -> list[LevelInput]:
        levels = []
        for number, line in enumerate(self.cleaned_data["levels"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|", MAX_LEVEL_LINE_PARTS - 1)]
            if len(parts) < 2:
                raise forms.ValidationError(f"Line {number}: write 'label | points | descriptor'.")
            try:
                points = int(parts[1])
            except ValueError:
                raise forms.ValidationError(
                    f"Line {number}: points must be a whole number, not '{parts[1]}'."
                ) from None
            descriptor = parts[2] if len(parts) > 2 else ""
            levels.append(LevelInput(label=parts[0], points=points, descriptor=descriptor))
        return levels

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return not (data.get("title") or data.get("levels") or data.get("max_points"))

    def to_input(self) -> CriterionInput:
        data = self.cleaned_data
        return CriterionInput(
            title=data.get("title") or "",
            description=data.get("description") or "",
            max_points=data.get("max_points") or 0,
            levels=data.get("levels") or [],
        )


CriterionFormSet = forms.formset_factory(CriterionForm, extra=4, max_num=12)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class UploadTokenForm(forms.Form):
    """A hidden token made for each render of an upload form: a post sent again (a lost
    response, a double click) stores its files once."""

    upload_token = forms.RegexField(
        regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["upload_token"].initial = uuid.uuid4().hex

    def idempotency_key(self, files) -> str:
        """The token and what the post carries: a new upload from a stale page (the browser's
        back button) has other files, so it is not taken for a retry."""
        token = self.cleaned_data.get("upload_token")
        if not token:
            return ""
        carried = "\n".join(f"{upload.name}\t{upload.size}" for upload in files)
        return f"form:{token}:{hashlib.sha256(carried.encode()).hexdigest()[:32]}"


def _student_label(user) -> str:
    return f"{user.get_full_name() or user.username} ({user.username})"


class UploadForm(UploadTokenForm):
    """Files for one chosen student, or a class (files or ZIPs) matched by roster or file name."""

    files = MultipleFileField(
        label="Files",
        widget=MultipleFileInput(attrs={"accept": ",".join(sorted(ACCEPTED_EXTENSIONS))}),
        help_text=".txt, .md, source code, .ipynb, .pdf, .docx, or a .zip of a whole class.",
    )
    student = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Student",
        empty_label="— Match each file to a student (roster or file name) —",
        help_text="Choose a student to make every file theirs; a ZIP is then their project.",
    )
    roster = forms.FileField(
        required=False,
        label="Roster CSV (optional)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="Columns: student id (username), name, email, file name.",
    )

    def __init__(self, *args, students, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = students
        self.fields["student"].label_from_instance = _student_label


class AssignUnmatchedForm(forms.Form):
    student = forms.ModelChoiceField(queryset=None, label="Student")

    def __init__(self, *args, students, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = students
        self.fields["student"].label_from_instance = _student_label


class ReviewForm(forms.Form):
    """Points and a comment per criterion, plus an overall comment."""

    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=5000,
        label="Overall feedback to the student",
        help_text="Starts as the AI's draft. The student reads exactly what you release.",
    )

    def __init__(
        self,
        *args,
        criteria: list[Criterion],
        initial_points: dict[int, int],
        initial_comments: dict[int, str],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[f"points_{criterion.pk}"] = forms.IntegerField(
                min_value=0,
                max_value=criterion.max_points,
                initial=initial_points.get(criterion.pk),
                label=f"{criterion.key} points (of {criterion.max_points})",
            )
            self.fields[f"comment_{criterion.pk}"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 2}),
                required=False,
                max_length=5000,
                initial=initial_comments.get(criterion.pk, ""),
                label=f"{criterion.key} comment",
            )

    def points(self) -> dict[int, int]:
        return {c.pk: self.cleaned_data[f"points_{c.pk}"] for c in self.criteria}

    def comments(self) -> dict[int, str]:
        return {c.pk: self.cleaned_data[f"comment_{c.pk}"] for c in self.criteria}

    def criterion_fields(self):
        """(criterion, points field, comment field) for the template."""
        return [(c, self[f"points_{c.pk}"], self[f"comment_{c.pk}"]) for c in self.criteria]


class StudentUploadForm(UploadTokenForm):
    file = forms.FileField(label="Your file (.txt, .md or source code)")


class RegradeRequestForm(forms.Form):
    criteria = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Which criteria should be looked at again?",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=3000, label="Why?"
    )

    def __init__(self, *args, criteria: list[Criterion], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._criteria = {str(c.pk): c for c in criteria}
        self.fields["criteria"].choices = [(str(c.pk), f"{c.key} {c.title}") for c in criteria]

    def clean_criteria(self) -> list[Criterion]:
        return [self._criteria[pk] for pk in self.cleaned_data["criteria"]]


class RegradeAnswerForm(forms.Form):
    response = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=3000, label="Response to the student"
    )
    change_grade = forms.BooleanField(required=False, label="Change the grade to the points below")


class RosterForm(forms.Form):
    roster = forms.FileField(
        label="Roster CSV",
        help_text="Columns: username, email, first_name, last_name, role (student or educator).",
    )

    def clean_roster(self) -> str:
        upload = self.cleaned_data["roster"]
        try:
            return upload.read(1024 * 1024 + 1).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Save the roster as UTF-8 CSV.") from None


class RubricCriterionForm(CriterionForm):
    """A criterion in the rubric editor; `order` numbers reorder criteria (ties keep page order)."""

    order = forms.IntegerField(min_value=1, max_value=1000, required=False, label="Order")


RubricCriterionFormSet = forms.formset_factory(RubricCriterionForm, extra=2, max_num=30)


class RubricImportForm(forms.Form):
    """A rubric file: AAIE JSON, AAIE dataset JSON (bands get the points below) or CSV.

    The first post previews what would be saved, with warnings; the file's text then travels in
    `content` and the educator may weight each criterion (`points_<n>`) before saving.
    """

    PREVIEW, SAVE = "preview", "save"

    file = forms.FileField(
        required=False,
        label="Rubric file",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.csv"}),
        help_text=".json (AAIE's own or the AAIE dataset format) or .csv, one row per level.",
    )
    content = forms.CharField(required=False, widget=forms.HiddenInput, strip=False)
    file_name = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)
    action = forms.ChoiceField(
        required=False, choices=[(PREVIEW, PREVIEW), (SAVE, SAVE)], widget=forms.HiddenInput
    )
    name = forms.CharField(
        max_length=200,
        required=False,
        label="Rubric name",
        help_text="Leave blank to use the name in the file (a CSV needs one: its file name).",
    )
    excellent = forms.IntegerField(min_value=0, max_value=1000, initial=4, label="Excellent")
    good = forms.IntegerField(min_value=0, max_value=1000, initial=3, label="Good")
    average = forms.IntegerField(min_value=0, max_value=1000, initial=2, label="Average")
    needs_improvement = forms.IntegerField(
        min_value=0, max_value=1000, initial=1, label="Needs improvement"
    )
    poor = forms.IntegerField(min_value=0, max_value=1000, initial=0, label="Poor")

    def __init__(self, *args, max_criteria: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for number in range(1, max_criteria + 1):
            self.fields[f"points_{number}"] = forms.IntegerField(
                min_value=1, max_value=1000, required=False, label=f"C{number} maximum points"
            )

    def clean(self):
        data = super().clean()
        if not data.get("file") and not data.get("content"):
            raise forms.ValidationError("Choose a rubric file.")
        return data

    def criterion_points(self) -> dict[int, int]:
        """{criterion number: max points} for the criteria the educator weighted."""
        return {
            int(name.removeprefix("points_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("points_") and value is not None
        }


class RubricSwitchForm(forms.Form):
    """Another version of the assignment's rubric, for switching, a trial or comparing."""

    version = forms.ModelChoiceField(queryset=RubricVersion.objects.none(), label="Version")
    regrade = forms.BooleanField(
        required=False, label="Regrade every student's newest attempt with it"
    )

    def __init__(self, *args, versions=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if versions is not None:
            self.fields["version"].queryset = versions


class EvaluationForm(forms.Form):
    profile = forms.ModelChoiceField(
        queryset=ModelProfile.objects.order_by("name"),
        required=False,
        empty_label="The default model (settings)",
        help_text="The set is graded with this profile; no student's grade is touched.",
    )


class CalibrationImportForm(forms.Form):
    """Already-marked work: an AAIE dataset JSON, or a CSV of labels beside a class ZIP."""

    dataset = forms.FileField(
        required=False,
        label="AAIE dataset file",
        widget=forms.ClearableFileInput(attrs={"accept": ".json"}),
        help_text="A .json with prompt, rubric and submissions (final_submission, quality, "
        "feedback). The rubric and the task come from the file.",
    )
    labels = forms.FileField(
        required=False,
        label="Labels CSV",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv"}),
        help_text="Columns student_or_file, criterion, points_or_level, comment: one row per "
        "file and criterion.",
    )
    archive = forms.FileField(
        required=False,
        label="Class ZIP",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip"}),
        help_text="The marked files; each is matched to the CSV by its name.",
    )
    rubric_version = forms.ModelChoiceField(
        queryset=RubricVersion.objects.none(),
        required=False,
        label="Rubric (CSV only)",
        help_text="The rubric the CSV's labels were given against.",
    )
    task = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_TASK_CHARS,
        required=False,
        label="Task (CSV only)",
        help_text="The assignment's task, as the model will read it.",
    )
    name = forms.CharField(
        max_length=200,
        required=False,
        label="Name of the set",
        help_text="Leave blank to use the rubric's or the ZIP's name.",
    )
    UPLOAD_FIELDS = ("dataset", "labels", "archive", "rubric_version", "task", "name")

    def __init__(self, *args, rubric_versions=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if rubric_versions is not None:
            self.fields["rubric_version"].queryset = rubric_versions
        for band, points in DEFAULT_BAND_POINTS.items():
            self.fields[band] = forms.IntegerField(
                min_value=0,
                max_value=1000,
                initial=points,
                required=False,
                label=f"{band_label(band)} (points)",
            )

    def upload(self) -> dict:
        """The cleaned input as calibration_import_upload takes it."""
        data = self.cleaned_data
        bands = {band: data[band] for band in DEFAULT_BAND_POINTS if data.get(band) is not None}
        return {**{name: data.get(name) for name in self.UPLOAD_FIELDS}, "band_points": bands}

    def clean(self):
        data = super().clean()
        if data.get("dataset"):
            return data
        needed = ("labels", "archive", "rubric_version", "task")
        missing = [self.fields[name].label for name in needed if not data.get(name)]
        if missing:
            raise forms.ValidationError(
                "Upload a dataset file, or a labels CSV with its ZIP, rubric and task "
                f"(missing: {', '.join(missing)})."
            )
        return data
