"""The site's own address for links in emails: AAIE_SITE_URL, else the request being served.

Middleware notes the address a web request came in on (its host passed ALLOWED_HOSTS), so an
email sent while serving it, such as a release email, links back to that address. Outside a
request, a task sent while serving one carries its address (`site_url()` at sending, then
`links_to(address)` in the worker); otherwise only AAIE_SITE_URL can say it, hence the fallback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

FALLBACK_SITE_URL = "http://localhost:8000"

_request_site_url: ContextVar[str] = ContextVar("request_site_url", default="")


def site_url() -> str:
    """The base address without a trailing slash."""
    configured = settings.AAIE_SITE_URL or _request_site_url.get() or FALLBACK_SITE_URL
    return configured.rstrip("/")


@contextmanager
def links_to(address: str) -> Iterator[None]:
    """Links made inside use `address` (a request's, noted when a task was sent) as the site's."""
    token = _request_site_url.set(address)
    try:
        yield
    finally:
        _request_site_url.reset(token)


class SiteUrlMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with links_to(request.build_absolute_uri("/")):
            return self.get_response(request)
