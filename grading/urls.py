from django.urls import path

from grading.views import common, educator, regrades, student

urlpatterns = [
    path("", common.home, name="home"),
    path("courses/", educator.course_list, name="course_list"),
    path("courses/<int:course_id>/", educator.course_detail, name="course_detail"),
    path(
        "courses/<int:course_id>/assignments/new/",
        educator.assignment_new,
        name="assignment_new",
    ),
    path("assignments/<int:assignment_id>/", educator.assignment_detail, name="assignment_detail"),
    path(
        "assignments/<int:assignment_id>/upload/",
        educator.submission_upload,
        name="submission_upload",
    ),
    path(
        "assignments/<int:assignment_id>/grade/",
        educator.grade_assignment,
        name="grade_assignment",
    ),
    path(
        "submissions/<int:submission_id>/grade/",
        educator.grade_submission,
        name="grade_submission",
    ),
    path(
        "submissions/<int:submission_id>/review/",
        educator.submission_review,
        name="submission_review",
    ),
    path("regrades/", regrades.regrade_list, name="regrade_list"),
    path("regrades/<int:request_id>/", regrades.regrade_answer, name="regrade_answer"),
    path("me/", student.my_submissions, name="my_submissions"),
    path(
        "me/assignments/<int:assignment_id>/upload/", student.my_upload, name="my_upload"
    ),
    path("me/submissions/<int:submission_id>/", student.my_feedback, name="my_feedback"),
]
