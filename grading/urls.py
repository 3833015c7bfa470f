from django.urls import path

from grading.views import (
    calibration,
    common,
    educator,
    evaluations,
    ops,
    originals,
    regrades,
    reports,
    rubrics,
    student,
    uploads,
    workspace,
)

urlpatterns = [
    path("", common.home, name="home"),
    path("healthz", ops.healthz, name="healthz"),
    path("courses/", educator.course_list, name="course_list"),
    path("courses/new/", educator.course_new, name="course_new"),
    path("courses/<int:course_id>/", educator.course_detail, name="course_detail"),
    path("courses/<int:course_id>/roster/", educator.course_roster_import, name="roster_import"),
    path(
        "courses/<int:course_id>/assignments/new/",
        educator.assignment_new,
        name="assignment_new",
    ),
    path("assignments/<int:assignment_id>/", educator.assignment_detail, name="assignment_detail"),
    path(
        "assignments/<int:assignment_id>/edit/",
        educator.assignment_edit,
        name="assignment_edit",
    ),
    path(
        "assignments/<int:assignment_id>/upload/",
        uploads.submission_upload,
        name="submission_upload",
    ),
    path("uploads/<int:batch_id>/", uploads.upload_batch_detail, name="upload_batch_detail"),
    path("uploads/<int:batch_id>/status/", uploads.upload_batch_status, name="upload_batch_status"),
    path(
        "assignments/<int:assignment_id>/unmatched/",
        uploads.unmatched_uploads,
        name="unmatched_uploads",
    ),
    path(
        "assignments/<int:assignment_id>/grade/",
        educator.grade_assignment,
        name="grade_assignment",
    ),
    path(
        "assignments/<int:assignment_id>/progress.json",
        ops.grading_progress,
        name="grading_progress",
    ),
    path(
        "assignments/<int:assignment_id>/grading/cancel/",
        ops.grading_cancel,
        name="grading_cancel",
    ),
    path(
        "assignments/<int:assignment_id>/grading/retry-failed/",
        ops.grading_retry_failed,
        name="grading_retry_failed",
    ),
    path(
        "assignments/<int:assignment_id>/gradebook.csv",
        reports.gradebook_download,
        name="gradebook_download",
    ),
    path(
        "assignments/<int:assignment_id>/analytics/",
        reports.assignment_analytics,
        name="assignment_analytics",
    ),
    path(
        "assignments/<int:assignment_id>/release/",
        educator.release_selected,
        name="release_selected",
    ),
    path(
        "submissions/<int:submission_id>/grade/",
        educator.grade_submission,
        name="grade_submission",
    ),
    path(
        "submissions/<int:submission_id>/cancel/",
        educator.cancel_submission_run,
        name="cancel_submission_run",
    ),
    path(
        "submissions/<int:submission_id>/review/",
        educator.submission_review,
        name="submission_review",
    ),
    path(
        "submissions/<int:submission_id>/trace.json",
        reports.run_trace,
        name="run_trace",
    ),
    path("courses/<int:course_id>/agreement/", reports.course_agreement, name="course_agreement"),
    path(
        "rubric-versions/<int:version_id>/agreement/",
        reports.rubric_version_agreement,
        name="rubric_version_agreement",
    ),
    path(
        "model-profiles/<int:profile_id>/agreement/",
        reports.profile_agreement,
        name="profile_agreement",
    ),
    path(
        "calibration-sets/<int:set_id>/evaluations/new/",
        evaluations.evaluation_new,
        name="evaluation_new",
    ),
    path(
        "evaluations/<int:evaluation_id>/",
        evaluations.evaluation_report_page,
        name="evaluation_report",
    ),
    path(
        "evaluations/<int:evaluation_id>/report.json",
        evaluations.evaluation_report_json,
        name="evaluation_report_json",
    ),
    path(
        "evaluations/<int:evaluation_id>/compare/<int:other_id>/",
        evaluations.evaluation_compare,
        name="evaluation_compare",
    ),
    path("rubrics/", rubrics.rubric_list, name="rubric_list"),
    path("rubrics/import/", rubrics.rubric_import_page, name="rubric_import"),
    path(
        "rubrics/versions/<int:version_id>/imported/",
        rubrics.rubric_imported,
        name="rubric_imported",
    ),
    path("rubrics/<int:rubric_id>/edit/", rubrics.rubric_edit, name="rubric_edit"),
    path(
        "rubrics/versions/<int:version_id>/export/<str:fmt>/",
        rubrics.rubric_export_file,
        name="rubric_export",
    ),
    path(
        "assignments/<int:assignment_id>/rubric/",
        rubrics.assignment_rubric,
        name="assignment_rubric",
    ),
    path(
        "assignments/<int:assignment_id>/rubric/switch/",
        rubrics.assignment_rubric_switch,
        name="assignment_rubric_switch",
    ),
    path(
        "assignments/<int:assignment_id>/rubric/trial/",
        rubrics.rubric_trial,
        name="rubric_trial",
    ),
    path(
        "assignments/<int:assignment_id>/rubric/compare/<int:version_id>/",
        rubrics.rubric_compare_page,
        name="rubric_compare",
    ),
    path(
        "assignments/<int:assignment_id>/rubric/tuning/<int:version_id>/",
        rubrics.rubric_tuning_page,
        name="rubric_tuning",
    ),
    path("regrades/", regrades.regrade_list, name="regrade_list"),
    path("regrades/<int:request_id>/", regrades.regrade_answer, name="regrade_answer"),
    path("me/", student.my_submissions, name="my_submissions"),
    path("me/assignments/<int:assignment_id>/upload/", student.my_upload, name="my_upload"),
    path("me/submissions/<int:submission_id>/", student.my_feedback, name="my_feedback"),
    path(
        "courses/<int:course_id>/calibration-sets/import/",
        calibration.calibration_import_page,
        name="calibration_import",
    ),
    path(
        "calibration-sets/<int:set_id>/",
        calibration.calibration_set_detail,
        name="calibration_set",
    ),
    path("me/uploads/<int:batch_id>/", student.my_upload_result, name="my_upload_result"),
    path("me/uploads/<int:batch_id>/status/", student.my_upload_status, name="my_upload_status"),
    path(
        "submissions/<int:submission_id>/draft.json",
        workspace.review_draft,
        name="review_draft",
    ),
    path(
        "assignments/<int:assignment_id>/comment-bank/",
        workspace.comment_bank_create,
        name="comment_bank_create",
    ),
    path(
        "comment-bank/<int:entry_id>/use.json",
        workspace.comment_bank_count,
        name="comment_bank_count",
    ),
    path(
        "comment-bank/<int:entry_id>/delete/",
        workspace.comment_bank_remove,
        name="comment_bank_remove",
    ),
    path(
        "submissions/<int:submission_id>/original/",
        originals.submission_original,
        name="submission_original",
    ),
    path(
        "submissions/<int:submission_id>/pages/<int:page>.png",
        originals.submission_page,
        name="submission_page",
    ),
]
