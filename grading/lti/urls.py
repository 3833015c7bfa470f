from django.urls import path

from grading.lti import views

urlpatterns = [
    path("jwks.json", views.jwks, name="lti_jwks"),
    path("canvas.json", views.canvas_json, name="lti_canvas_json"),
    path("configuration/", views.configuration, name="lti_configuration"),
    path("login/", views.oidc_login_view, name="lti_login"),
    path("launch/", views.launch, name="lti_launch"),
    path("deep-link/", views.deep_link, name="lti_deep_link"),
    path("courses/<int:course_id>/sync-roster/", views.roster_sync_start, name="lti_roster_sync"),
    path(
        "assignments/<int:assignment_id>/passback/retry/",
        views.passback_retry,
        name="lti_passback_retry",
    ),
]
