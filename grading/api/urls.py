"""Routes of the API, mounted at /api/v1/ by aaie/urls.py."""

from django.urls import path, re_path

from grading.api.errors import not_found
from grading.api.views import (
    assignments,
    calibration,
    courses,
    evaluations,
    regrades,
    reviews,
    rubrics,
    runs,
    submissions,
)

urlpatterns = [
    path("courses/", courses.CourseListView.as_view(), name="api_courses"),
    path("courses/<int:course_id>/", courses.CourseDetailView.as_view(), name="api_course"),
    path(
        "courses/<int:course_id>/enrolments/",
        courses.EnrolmentListView.as_view(),
        name="api_enrolments",
    ),
    path(
        "courses/<int:course_id>/assignments/",
        courses.AssignmentListView.as_view(),
        name="api_assignments",
    ),
    path(
        "courses/<int:course_id>/agreement/",
        evaluations.CourseAgreementView.as_view(),
        name="api_course_agreement",
    ),
    path(
        "calibration-sets/<int:set_id>/evaluations/",
        evaluations.EvaluationCreateView.as_view(),
        name="api_evaluations",
    ),
    path(
        "evaluations/<int:evaluation_id>/",
        evaluations.EvaluationDetailView.as_view(),
        name="api_evaluation",
    ),
    path("rubrics/", rubrics.RubricListView.as_view(), name="api_rubrics"),
    path("rubrics/import/", rubrics.RubricImportView.as_view(), name="api_rubric_import"),
    path(
        "rubrics/import/preview/",
        rubrics.RubricImportPreviewView.as_view(),
        name="api_rubric_import_preview",
    ),
    path("rubrics/<int:rubric_id>/", rubrics.RubricDetailView.as_view(), name="api_rubric"),
    path(
        "rubrics/<int:rubric_id>/versions/",
        rubrics.RubricVersionCreateView.as_view(),
        name="api_rubric_versions",
    ),
    path(
        "rubric-versions/<int:version_id>/",
        rubrics.RubricVersionDetailView.as_view(),
        name="api_rubric_version",
    ),
    path(
        "rubric-versions/<int:version_id>/export/",
        rubrics.RubricVersionExportView.as_view(),
        name="api_rubric_version_export",
    ),
    path(
        "rubric-versions/<int:version_id>/export/dataset/",
        rubrics.RubricVersionDatasetExportView.as_view(),
        name="api_rubric_version_export_dataset",
    ),
    path(
        "assignments/<int:assignment_id>/",
        assignments.AssignmentDetailView.as_view(),
        name="api_assignment",
    ),
    path(
        "assignments/<int:assignment_id>/submissions/",
        submissions.SubmissionListView.as_view(),
        name="api_submissions",
    ),
    path(
        "assignments/<int:assignment_id>/grading-runs/",
        assignments.AssignmentGradeView.as_view(),
        name="api_assignment_grade",
    ),
    path(
        "assignments/<int:assignment_id>/grading-runs/cancel/",
        assignments.AssignmentCancelView.as_view(),
        name="api_assignment_grading_cancel",
    ),
    path(
        "assignments/<int:assignment_id>/grading-runs/retry-failed/",
        assignments.AssignmentRetryFailedView.as_view(),
        name="api_assignment_grading_retry",
    ),
    path(
        "assignments/<int:assignment_id>/progress/",
        assignments.AssignmentProgressView.as_view(),
        name="api_assignment_progress",
    ),
    path(
        "assignments/<int:assignment_id>/gradebook/",
        assignments.GradebookView.as_view(),
        name="api_gradebook",
    ),
    path(
        "assignments/<int:assignment_id>/gradebook.csv",
        assignments.GradebookCSVView.as_view(),
        name="api_gradebook_csv",
    ),
    path(
        "assignments/<int:assignment_id>/analytics/",
        assignments.AnalyticsView.as_view(),
        name="api_analytics",
    ),
    path(
        "submissions/<int:submission_id>/",
        submissions.SubmissionDetailView.as_view(),
        name="api_submission",
    ),
    path("uploads/<int:batch_id>/", submissions.UploadDetailView.as_view(), name="api_upload"),
    path(
        "submissions/<int:submission_id>/grading-runs/",
        runs.SubmissionRunsView.as_view(),
        name="api_submission_runs",
    ),
    path("grading-runs/<int:run_id>/", runs.GradingRunDetailView.as_view(), name="api_run"),
    path(
        "grading-runs/<int:run_id>/cancel/",
        runs.GradingRunCancelView.as_view(),
        name="api_run_cancel",
    ),
    path(
        "submissions/<int:submission_id>/review/",
        reviews.ReviewView.as_view(),
        name="api_review",
    ),
    path(
        "submissions/<int:submission_id>/review/approve/",
        reviews.ReviewApproveView.as_view(),
        name="api_review_approve",
    ),
    path(
        "submissions/<int:submission_id>/review/release/",
        reviews.ReviewReleaseView.as_view(),
        name="api_review_release",
    ),
    path(
        "submissions/<int:submission_id>/regrade-requests/",
        regrades.RegradeCreateView.as_view(),
        name="api_regrade_create",
    ),
    path("regrade-requests/", regrades.RegradeListView.as_view(), name="api_regrades"),
    path(
        "regrade-requests/<int:regrade_id>/",
        regrades.RegradeDetailView.as_view(),
        name="api_regrade",
    ),
    path(
        "regrade-requests/<int:regrade_id>/answer/",
        regrades.RegradeAnswerView.as_view(),
        name="api_regrade_answer",
    ),
    path(
        "courses/<int:course_id>/calibration-sets/",
        calibration.CalibrationSetListView.as_view(),
        name="api_calibration_sets",
    ),
    # Anything else under the API answers in the API's error shape, never an HTML page.
    re_path(r"^.*$", not_found, name="api_not_found"),
]
