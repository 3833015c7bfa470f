"""The site's own address for links in emails: AAIE_SITE_URL, else the request being served.

Middleware notes the address a web request came in on (its host passed ALLOWED_HOSTS), so an
email sent while serving it, such as a release email, links back to that address. Outside a
request (the worker's auto-release) only AAIE_SITE_URL can say it, hence the fallback.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings

FALLBACK_SITE_URL = "http://localhost:8000"

_request_site_url: ContextVar[str] = ContextVar("request_site_url", default="")


def site_url() -> str:
    """The base address without a trailing slash."""
    configured = settings.AAIE_SITE_URL or _request_site_url.get() or FALLBACK_SITE_URL
    return configured.rstrip("/")


class SiteUrlMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _request_site_url.set(request.build_absolute_uri("/"))
        try:
            return self.get_response(request)
        finally:
            _request_site_url.reset(token)
