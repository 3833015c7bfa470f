"""The assignment dashboard: filters, sorting, bulk release, gradebook export, analytics."""

import csv
import io

import pytest
from django.urls import reverse

from grading.models import Enrolment, GradingRun, Review, Submission
from grading.services.analytics import agreement_for_assignment
from grading.services.courses import enrolment_set
from grading.services.grading import grading_run_execute, grading_run_request
from grading.services.reviews import review_approve, review_save
from grading.views import educator as educator_views
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_model")]


@pytest.fixture
def graded_class(assignment, student, classmate, educator, make_submission):
    """Two students, both graded by the AI."""
    submissions = [
        make_submission(assignment, student, "Student essay"),
        make_submission(assignment, classmate, "Classmate essay"),
    ]
    for submission in submissions:
        run = grading_run_request(submission=submission, requested_by=educator)
        grading_run_execute(run_id=run.pk)
        submission.refresh_from_db()
    return submissions


def test_filtering_by_status_shows_only_matching_rows(assignment, graded_class, educator):
    failed = graded_class[1]
    GradingRun.objects.filter(pk=failed.latest_run_id).update(status=GradingRun.Status.FAILED)
    url = reverse("assignment_detail", args=[assignment.pk])
    page = client_for(educator).get(url, {"status": "failed"}).content.decode()
    assert "<td>Classmate</td>" in page
    assert "<td>Student</td>" not in page


def test_sorting_by_ai_total_orders_the_rows(assignment, graded_class, educator):
    GradingRun.objects.filter(pk=graded_class[0].latest_run_id).update(total=5)
    GradingRun.objects.filter(pk=graded_class[1].latest_run_id).update(total=1)
    url = reverse("assignment_detail", args=[assignment.pk])
    ascending = client_for(educator).get(url, {"sort": "ai_total"}).content.decode()
    descending = client_for(educator).get(url, {"sort": "ai_total", "order": "desc"})
    assert ascending.index("<td>Classmate</td>") < ascending.index("<td>Student</td>")
    page = descending.content.decode()
    assert page.index("<td>Student</td>") < page.index("<td>Classmate</td>")


def test_bulk_release_releases_ai_grades_and_reviews_of_selected_rows_only(
    assignment, graded_class, educator
):
    chosen, other = graded_class
    response = client_for(educator).post(
        reverse("release_selected", args=[assignment.pk]), {"selected": [chosen.pk]}
    )
    assert response.status_code == 302
    review = Review.objects.get(submission=chosen)
    assert review.released and review.approved_by == educator
    # The AI's points became the released grade.
    ai_points = {r.criterion_id: r.points for r in chosen.latest_run.results.all()}
    assert {i.criterion_id: i.points for i in review.criteria.all()} == ai_points
    assert not Review.objects.filter(submission=other).exists()


def test_bulk_release_says_a_flagged_grade_was_held_back_not_missing(
    assignment, graded_class, educator
):
    flagged, clean = graded_class
    Submission.objects.filter(pk=flagged.pk).update(flags={"hidden_text": ["tiny white text"]})
    url = reverse("release_selected", args=[assignment.pk])
    page = client_for(educator).post(url, {"selected": [flagged.pk, clean.pk]}, follow=True)
    text = page.content.decode()
    assert "Released 1 grade(s)." in text
    assert "1 flagged AI grade(s) held back" in text
    # The old message blamed a missing or already released grade, which was untrue here.
    assert "no grade" not in text and "released already" not in text
    assert not Review.objects.filter(submission=flagged).exists()


@pytest.fixture
def four_graded(assignment, graded_class, educator, make_user, make_submission):
    """Four students graded by the AI: the two of graded_class and two more."""
    submissions = list(graded_class)
    for name in ("third", "fourth"):
        user = make_user(name)
        enrolment_set(course=assignment.course, user=user, role=Enrolment.Role.STUDENT)
        submission = make_submission(assignment, user, f"{name} essay")
        grading_run_execute(
            run_id=grading_run_request(submission=submission, requested_by=educator).pk
        )
        submission.refresh_from_db()
        submissions.append(submission)
    return submissions


def _judge_one_by_one(client, submission, educator) -> None:
    """Open the review page, keep the AI's points and approve: an educator's judgment."""
    client.get(reverse("submission_review", args=[submission.pk]))
    ai_points = {r.criterion_id: r.points for r in submission.latest_run.results.all()}
    review = review_save(
        submission=submission, actor=educator, points=ai_points, comments={}, comment=""
    )
    review_approve(review=review, actor=educator)


def test_bulk_release_waits_for_the_required_agreement(assignment, four_graded, educator):
    graded_class = four_graded
    assignment.min_agreement_for_bulk_release = 0.8
    assignment.save()
    client = client_for(educator)
    url = reverse("release_selected", args=[assignment.pk])
    response = client.post(url, {"selected": [graded_class[0].pk]}, follow=True)
    assert "Bulk release needs AI–educator agreement" in response.content.decode()
    assert not Review.objects.filter(released=True).exists()

    # Two grades judged one by one give four criterion pairs: still too few for a kappa.
    for submission in graded_class[:2]:
        _judge_one_by_one(client, submission, educator)
    response = client.post(url, {"selected": [graded_class[3].pk]}, follow=True)
    assert "Not enough data" in response.content.decode()
    assert not Review.objects.filter(released=True).exists()

    # A third makes six pairs, all agreeing with the AI: kappa 1.0, bulk release opens.
    _judge_one_by_one(client, graded_class[2], educator)
    client.post(url, {"selected": [graded_class[3].pk]})
    assert Review.objects.get(submission=graded_class[3]).released


def test_bulk_releases_never_count_towards_the_agreement_they_are_gated_on(
    assignment, four_graded, educator
):
    graded_class = four_graded
    """Released unopened, the AI's own points would agree with themselves: kappa 1 from nothing."""
    client = client_for(educator)
    url = reverse("release_selected", args=[assignment.pk])
    client.post(url, {"selected": [s.pk for s in graded_class]})
    assert Review.objects.filter(released=True, provenance="bulk").count() == len(graded_class)
    assignment.min_agreement_for_bulk_release = 0.5
    assignment.save()
    report = agreement_for_assignment(assignment=assignment)
    assert report.judged == 0
    assert report.left_out == {"Released in bulk, unopened": len(graded_class)}
    page = client.get(reverse("assignment_analytics", args=[assignment.pk])).content.decode()
    assert f"Left out: {len(graded_class)} grade(s)" in page
    assert "Released in bulk, unopened: " in page


def test_the_gradebook_csv_has_a_row_per_student_and_defuses_formulas(
    assignment, graded_class, educator
):
    graded_class[0].student.first_name = "=HYPERLINK(evil)"
    graded_class[0].student.save()
    response = client_for(educator).get(reverse("gradebook_download", args=[assignment.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 3  # header + two students
    names = [row[1] for row in rows[1:]]
    assert any(name.startswith("'=HYPERLINK") for name in names)


def test_analytics_shows_distribution_and_agreement(assignment, graded_class, educator):
    _judge_one_by_one(client_for(educator), graded_class[0], educator)
    page = client_for(educator).get(reverse("assignment_analytics", args=[assignment.pk]))
    content = page.content.decode()
    assert "Over 1 grade(s) a person judged" in content
    assert "C1 Correctness" in content and "C2 Clarity" in content
    assert "not enough data" in content  # two pairs: no kappa, said in words


def test_reports_are_closed_to_other_courses(assignment, outsider_educator, student):
    for name in ("gradebook_download", "assignment_analytics"):
        url = reverse(name, args=[assignment.pk])
        assert client_for(outsider_educator).get(url).status_code == 404
        assert client_for(student).get(url).status_code == 403


def test_review_page_links_to_the_next_and_previous_submission(graded_class, educator):
    # The dashboard's default order is by student: "classmate" before "student".
    student_submission, classmate_submission = graded_class
    first = client_for(educator).get(reverse("submission_review", args=[classmate_submission.pk]))
    content = first.content.decode()
    assert 'rel="prev"' not in content
    assert (
        f'href="{reverse("submission_review", args=[student_submission.pk])}" rel="next"' in content
    )
    last = client_for(educator).get(reverse("submission_review", args=[student_submission.pk]))
    assert 'rel="next"' not in last.content.decode()


def test_the_dashboard_pages_its_rows_and_keeps_the_filters_in_the_page_links(
    assignment, graded_class, educator, monkeypatch
):
    monkeypatch.setattr(educator_views, "DASHBOARD_PAGE_SIZE", 1)
    url = reverse("assignment_detail", args=[assignment.pk])
    client = client_for(educator)
    first = client.get(url, {"sort": "student", "status": "succeeded"}).content.decode()
    assert "<td>Classmate</td>" in first and "<td>Student</td>" not in first
    assert "Rows 1–1 of 2" in first
    # The link to the next page keeps the sort and the filter.
    assert 'href="?sort=student&amp;status=succeeded&amp;page=2" rel="next"' in first
    second = client.get(url, {"sort": "student", "status": "succeeded", "page": 2})
    assert "<td>Student</td>" in second.content.decode()
    # A page past the end shows the last page rather than an error.
    assert "<td>Student</td>" in client.get(url, {"page": 99}).content.decode()


def test_flagged_only_keeps_submissions_flagged_by_their_file_or_their_ai_run(
    assignment, graded_class, educator, make_user, make_submission
):
    by_run, by_file = graded_class
    GradingRun.objects.filter(pk=by_run.latest_run_id).update(flags=["high_spread"])
    url = reverse("assignment_detail", args=[assignment.pk])
    page = client_for(educator).get(url, {"flagged": "1"}).content.decode()
    assert "<td>Student</td>" in page and "<td>Classmate</td>" not in page

    Submission.objects.filter(pk=by_file.pk).update(flags={"no_text": True})
    newcomer = make_user("ungraded")
    enrolment_set(course=assignment.course, user=newcomer, role=Enrolment.Role.STUDENT)
    ungraded = make_submission(assignment, newcomer, "Not graded yet")
    Submission.objects.filter(pk=ungraded.pk).update(flags={"hidden_text": ["psst"]})
    page = client_for(educator).get(url, {"flagged": "1"}).content.decode()
    assert "<td>Student</td>" in page and "<td>Classmate</td>" in page
    assert "<td>Ungraded</td>" in page


def test_review_page_neighbours_follow_the_dashboard_order_when_surnames_tie(
    assignment, educator, make_user, make_submission
):
    # Same surname: the username breaks the tie, so the order is amy, bob, cy.
    submissions = {}
    for name in ("cy", "amy", "bob"):
        student = make_user(name, last_name="Lee")
        enrolment_set(course=assignment.course, user=student, role=Enrolment.Role.STUDENT)
        submissions[name] = make_submission(assignment, student, f"{name} essay")
    page = client_for(educator).get(reverse("submission_review", args=[submissions["bob"].pk]))
    content = page.content.decode()
    previous_url = reverse("submission_review", args=[submissions["amy"].pk])
    next_url = reverse("submission_review", args=[submissions["cy"].pk])
    assert f'href="{previous_url}" rel="prev"' in content
    assert f'href="{next_url}" rel="next"' in content
