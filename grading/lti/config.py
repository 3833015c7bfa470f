"""The values an LMS administrator enters to register AAIE (docs/lti.md walks through them)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse

TOOL_TITLE = "AAIE"
TOOL_DESCRIPTION = "AI-assisted grading that educators review and release."
# What AAIE asks of the platform: grade columns and scores, and the course roster.
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


def tool_urls(request: HttpRequest) -> dict[str, str]:
    absolute = request.build_absolute_uri
    return {
        "login": absolute(reverse("lti_login")),
        "launch": absolute(reverse("lti_launch")),
        "deep_link": absolute(reverse("lti_launch")),
        "jwks": absolute(reverse("lti_jwks")),
        "canvas_json": absolute(reverse("lti_canvas_json")),
        "domain": urlsplit(absolute("/")).netloc,
    }


def canvas_configuration(request: HttpRequest) -> dict:
    """A Canvas developer key (LTI key, "Paste JSON" or "Enter URL")."""
    urls = tool_urls(request)
    placement = {
        "text": TOOL_TITLE,
        "enabled": True,
        "message_type": "LtiDeepLinkingRequest",
        "target_link_uri": urls["launch"],
    }
    return {
        "title": TOOL_TITLE,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": urls["login"],
        "target_link_uri": urls["launch"],
        "public_jwk_url": urls["jwks"],
        "scopes": SCOPES,
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": urls["domain"],
                "privacy_level": "public",
                "settings": {
                    "placements": [
                        {**placement, "placement": "assignment_selection"},
                        {**placement, "placement": "link_selection"},
                        {
                            "text": TOOL_TITLE,
                            "enabled": True,
                            "placement": "course_navigation",
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": urls["launch"],
                        },
                    ]
                },
            }
        ],
        "custom_fields": {},
    }
