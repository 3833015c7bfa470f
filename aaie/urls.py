from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from grading.api.docs import DocsView, SchemaView
from grading.views import tokens
from grading.views.auth import ThrottledLoginView, ThrottledPasswordResetView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        ThrottledPasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password-change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password-change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/api-tokens/", tokens.token_list, name="api_tokens"),
    path("api/v1/", include("grading.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="api_schema"),
    path("api/docs/", DocsView.as_view(url_name="api_schema"), name="api_docs"),
    path("lti/", include("grading.lti.urls")),
    path("", include("grading.urls")),
]

# Under /api/ an unexpected error answers with the API's JSON error body, elsewhere a page.
handler500 = "grading.api.errors.server_error"
