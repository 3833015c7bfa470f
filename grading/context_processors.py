from django.http import HttpRequest

from grading.permissions import is_educator


def roles(request: HttpRequest) -> dict[str, bool]:
    """What the navigation may offer the signed-in user."""
    return {"is_educator": is_educator(request.user)}
