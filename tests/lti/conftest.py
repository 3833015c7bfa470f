"""Fixtures for LTI tests: a platform simulator registered in AAIE, and a launch helper that
goes through AAIE's OIDC login like an LMS and a browser would."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from grading.lti import keys
from grading.lti.models import LtiDeployment, LtiPlatform
from tests.lti.simulator import CLIENT_ID, DEPLOYMENT_ID, PlatformSimulator

LOGIN_HINT = "opaque-login-hint"


@pytest.fixture
def sim(db) -> Iterator[PlatformSimulator]:
    # The simulator's thread has its own database connection, which cannot see this test's
    # transaction: it verifies AAIE's tokens against the key set as published now.
    keys.key_signing()
    published = keys.jwks()
    with PlatformSimulator(tool_jwks=lambda: published) as simulator:
        yield simulator


@pytest.fixture
def platform(sim) -> LtiPlatform:
    platform = LtiPlatform.objects.create(**sim.registration())
    LtiDeployment.objects.create(platform=platform, deployment_id=DEPLOYMENT_ID)
    return platform


def login_redirect(client, sim: PlatformSimulator, claims: dict, **extra) -> dict[str, str]:
    """AAIE's OIDC login; returns the auth request it sends the browser to the platform with."""
    sim.pending[LOGIN_HINT] = claims
    response = client.get(
        "/lti/login/",
        {
            "iss": sim.issuer,
            "login_hint": LOGIN_HINT,
            "target_link_uri": "http://testserver/lti/launch/",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT_ID,
            # What the cookie check page adds once it found cookies work (the browser test
            # goes through that page).
            "lti1p3_new_window": "1",
        },
        **extra,
    )
    assert response.status_code == 302, response.content[:500]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{sim.url}/auth"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def launch(client, sim: PlatformSimulator, claims: dict, *, key=None, **extra):
    """extra: request options for both steps (secure=True for HTTPS)."""
    auth = login_redirect(client, sim, claims, **extra)
    token = sim.launch_token(auth, claims, key=key)
    return client.post("/lti/launch/", {"id_token": token, "state": auth["state"]}, **extra)
