"""Registration: lti_register, the admin, AAIE's JWKS with rotation, the configuration page."""

from __future__ import annotations

import jwt
import pytest
from django.core.management import CommandError, call_command

from grading.lti import keys
from grading.lti.models import LtiKey, LtiPlatform
from grading.lti.tool import registration_for
from tests.conftest import client_for

REGISTER = [
    "--name=Canvas",
    "--issuer=https://canvas.instructure.com",
    "--client-id=10000000000001",
    "--deployment-id=1:abc",
    "--auth-login-url=https://sso.canvaslms.com/api/lti/authorize_redirect",
    "--auth-token-url=https://sso.canvaslms.com/login/oauth2/token",
    "--key-set-url=https://sso.canvaslms.com/api/lti/security/jwks",
]


def test_lti_register_creates_and_updates_a_platform(db, capsys):
    call_command("lti_register", *REGISTER)
    call_command("lti_register", *REGISTER, "--deployment-id=2:def", "--name=Canvas cloud")
    platform = LtiPlatform.objects.get()
    assert platform.name == "Canvas cloud"
    assert sorted(platform.deployments.values_list("deployment_id", flat=True)) == [
        "1:abc",
        "2:def",
    ]
    assert "Updated Canvas cloud" in capsys.readouterr().out


def test_lti_register_needs_a_deployment(db):
    with pytest.raises(CommandError):
        call_command("lti_register", *REGISTER[:3], *REGISTER[4:])


def test_a_rotation_publishes_both_keys_and_signs_with_the_new_one(client, db):
    old = keys.key_signing()
    call_command("lti_keys", "rotate")
    new = keys.key_signing()
    assert new != old
    published = client.get("/lti/jwks.json").json()
    assert {key["kid"] for key in published["keys"]} == {old.kid, new.kid}
    assert all("d" not in key for key in published["keys"])  # never the private half

    # What AAIE signs now verifies against the published set, by the new kid.
    platform = LtiPlatform(issuer="https://lms", client_id="c")
    registration = registration_for(platform)
    token = jwt.encode(
        {"iss": "c"}, registration.get_tool_private_key(), "RS256", {"kid": registration.get_kid()}
    )
    assert jwt.get_unverified_header(token)["kid"] == new.kid
    public = jwt.PyJWK({k["kid"]: k for k in published["keys"]}[new.kid]).key
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"iss": "c"}

    call_command("lti_keys", "retire-old")
    assert [key["kid"] for key in client.get("/lti/jwks.json").json()["keys"]] == [new.kid]
    assert LtiKey.objects.filter(retired_at__isnull=False).get() == old


def test_canvas_reads_its_developer_key_json(client, db):
    config = client.get("/lti/canvas.json").json()
    assert config["oidc_initiation_url"] == "http://testserver/lti/login/"
    assert config["target_link_uri"] == "http://testserver/lti/launch/"
    assert config["public_jwk_url"] == "http://testserver/lti/jwks.json"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in config["scopes"]
    placements = config["extensions"][0]["settings"]["placements"]
    assert {p["placement"] for p in placements} >= {"assignment_selection", "link_selection"}


def test_the_configuration_page_is_for_admins(db, admin_user, educator):
    call_command("lti_register", *REGISTER)
    page = client_for(admin_user).get("/lti/configuration/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "http://testserver/lti/login/" in text and "Moodle" in text and "1:abc" in text
    assert client_for(educator).get("/lti/configuration/").status_code == 403


def test_the_admin_lists_platforms_and_keys(db, admin_user):
    call_command("lti_register", *REGISTER)
    keys.key_signing()
    web = client_for(admin_user)
    for path in ("ltiplatform", "ltikey", "lticontext", "ltiidentity", "ltigradepost"):
        assert web.get(f"/admin/grading/{path}/").status_code == 200
    platform = LtiPlatform.objects.get()
    assert web.get(f"/admin/grading/ltiplatform/{platform.pk}/change/").status_code == 200
    key_page = web.get(f"/admin/grading/ltikey/{LtiKey.objects.get().pk}/change/")
    assert "PRIVATE KEY" not in key_page.content.decode()
