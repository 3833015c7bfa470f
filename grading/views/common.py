"""Pages every signed-in user shares."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from grading.permissions import is_educator


def home(request: HttpRequest) -> HttpResponse:
    """Send each user to their workspace."""
    if is_educator(request.user):
        return redirect("course_list")
    return redirect("my_submissions")
