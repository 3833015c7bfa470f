"""Frames and cookies for sessions begun by an LTI launch, and only for those.

Inside an LMS, AAIE runs in a frame of another site. Browsers send that frame only cookies
marked SameSite=None; Secure, and show it only if AAIE allows the LMS as a frame ancestor. A
session begun by a launch carries the LMS's origins (grading/lti/views.py); for it:
- the session and CSRF cookies become SameSite=None; Secure (over HTTPS: browsers refuse
  SameSite=None without Secure);
- X-Frame-Options gives way to a frame-ancestors policy naming those origins alone.
Every other session keeps SameSite=Lax cookies and X-Frame-Options: DENY. CSRF checks stay on:
forms in the frame post to AAIE's own origin with the token, as anywhere else.
"""

from __future__ import annotations

from django.conf import settings

FRAME_ORIGINS_KEY = "lti_frame_origins"


class LtiFrameMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        origins = session.get(FRAME_ORIGINS_KEY) if session is not None else None
        if not origins:
            return response
        if "X-Frame-Options" in response:
            del response["X-Frame-Options"]
        # The rest of the Content-Security-Policy stays as strict as anywhere (csp.middleware,
        # which runs after this on the way out, builds the header with this one change).
        replace = getattr(response, "_csp_replace", None) or {}
        response._csp_replace = {**replace, "frame-ancestors": ["'self'", *origins]}
        if request.is_secure():
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    response.cookies[name]["samesite"] = "None"
                    response.cookies[name]["secure"] = True
        return response
