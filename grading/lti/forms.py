from __future__ import annotations

from django import forms


class DeepLinkForm(forms.Form):
    """Pick an assignment, or leave it empty and describe a new one."""

    assignment = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="— create a new assignment —"
    )
    title = forms.CharField(max_length=200, required=False)
    task = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    rubric_version = forms.ModelChoiceField(queryset=None, required=False, label="Rubric")

    def __init__(self, *args, assignments, rubric_versions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignment"].queryset = assignments
        self.fields["rubric_version"].queryset = rubric_versions

    def clean(self) -> dict:
        data = super().clean()
        if data.get("assignment") is None:
            for name in ("title", "task", "rubric_version"):
                if not data.get(name):
                    self.add_error(name, "Needed for a new assignment.")
        return data
