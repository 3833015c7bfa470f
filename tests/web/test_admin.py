"""The Django admin: every model listed for admins, nothing for others, used rubrics frozen."""

import pytest
from django.contrib import admin
from django.urls import reverse

from grading.services.grading import grading_run_execute, grading_run_request
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]

GRADING_MODELS = [model for model in admin.site._registry if model._meta.app_label == "grading"]


def changelist(model) -> str:
    return reverse(f"admin:grading_{model._meta.model_name}_changelist")


def test_every_grading_model_is_in_the_admin():
    from django.apps import apps

    unregistered = {
        model.__name__
        for model in apps.get_app_config("grading").get_models()
        if model not in admin.site._registry
    }
    # Levels and per-criterion rows are edited inline with their parents.
    assert unregistered <= {"Level", "CriterionResult", "CriterionReview", "UnmatchedUpload"}


def test_admins_see_every_list_with_its_filters_and_search(admin_user, submission, educator):
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    client = client_for(admin_user)
    for model in GRADING_MODELS:
        response = client.get(changelist(model), {"q": "x"})
        assert response.status_code == 200, model.__name__


def test_educators_and_students_are_kept_out(educator, student):
    for user in (educator, student):
        response = client_for(user).get(changelist(GRADING_MODELS[0]))
        assert response.status_code == 302  # to the admin login


def test_a_rubric_version_used_by_a_grade_is_read_only(admin_user, submission, educator):
    version = submission.assignment.rubric_version
    url = reverse("admin:grading_rubricversion_change", args=[version.pk])
    assert 'name="_save"' in client_for(admin_user).get(url).content.decode()
    run = grading_run_request(submission=submission, requested_by=educator)
    grading_run_execute(run_id=run.pk)
    page = client_for(admin_user).get(url).content.decode()
    assert 'name="_save"' not in page  # viewable, not editable
    criterion = version.criteria.first()
    response = client_for(admin_user).post(
        reverse("admin:grading_criterion_change", args=[criterion.pk]), {"title": "Changed"}
    )
    assert response.status_code == 403
    criterion.refresh_from_db()
    assert criterion.title != "Changed"
