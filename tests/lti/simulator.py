"""An LTI 1.3 platform in a thread: its own RSA key, and JWKS, OIDC auth, token, NRPS, AGS and
deep-linking-return endpoints over loopback HTTP, recording everything AAIE sends.

Tests launch through it as an LMS would: AAIE's login redirects to /auth, which answers with a
form that posts a signed id_token to AAIE's launch URL (a browser follows it; the Django test
client takes the id_token from `launch_token`).
"""

from __future__ import annotations

import html
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from jwcrypto.jwk import JWK

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
CLIENT_ID = "aaie-client"
DEPLOYMENT_ID = "deployment-1"
CONTEXT_ID = "course-ctx-1"


@dataclass
class Recorded:
    token_requests: list[dict] = field(default_factory=list)  # decoded assertion + scopes
    scores: list[dict] = field(default_factory=list)  # {"url", "body", "scopes"}
    deep_link_replies: list[dict] = field(default_factory=list)  # decoded JWTs
    nrps_requests: list[dict] = field(default_factory=list)


class PlatformSimulator:
    def __init__(self, *, tool_jwks) -> None:
        """tool_jwks: a callable returning AAIE's JWKS, to verify what AAIE signs."""
        self.key = JWK.generate(kty="RSA", size=2048, kid=f"platform-{uuid.uuid4().hex[:8]}")
        self.tool_jwks = tool_jwks
        self.recorded = Recorded()
        self.members: list[dict] = []
        self.score_failures_left = 0  # answer this many score posts with 503
        self.tokens: dict[str, list[str]] = {}  # access token -> granted scopes
        self.pending: dict[str, dict] = {}  # login_hint -> claims for the next launch
        self.iframe_src = ""  # the page /course shows in an iframe
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> PlatformSimulator:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def issuer(self) -> str:
        return self.url

    def registration(self) -> dict:
        """Arguments for manage.py lti_register / LtiPlatform."""
        return {
            "name": "Simulated LMS",
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "auth_login_url": f"{self.url}/auth",
            "auth_token_url": f"{self.url}/token",
            "key_set_url": f"{self.url}/jwks",
        }

    # --- what a launch carries -----------------------------------------------------------------
    def claims(
        self, *, sub: str, role: str, message_type: str = "LtiResourceLinkRequest", **overrides
    ) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
            "given_name": sub.title(),
            "family_name": "Tester",
            "email": f"{sub}@lms.example",
            CLAIM + "message_type": message_type,
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": DEPLOYMENT_ID,
            CLAIM + "target_link_uri": "",
            CLAIM + "roles": [role],
            CLAIM + "context": {"id": CONTEXT_ID, "label": "BIO101", "title": "Biology 101"},
            CLAIM + "launch_presentation": {"return_url": f"{self.url}/course"},
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/nrps/{CONTEXT_ID}",
                "service_versions": ["2.0"],
            },
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": [SCORE_SCOPE, LINEITEM_SCOPE],
                "lineitems": f"{self.url}/lineitems",
                "lineitem": f"{self.url}/lineitems/1",
            },
        }
        if message_type == "LtiResourceLinkRequest":
            claims[CLAIM + "resource_link"] = {"id": "link-1", "title": "Essay"}
        else:
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.url}/deep_link_return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "opaque-platform-data",
            }
        claims.update(overrides)
        return claims

    def sign(self, claims: dict, *, key: JWK | None = None) -> str:
        key = key or self.key
        return jwt.encode(
            claims,
            key.export_to_pem(private_key=True, password=None),
            algorithm="RS256",
            headers={"kid": self.key.kid},
        )

    def launch_token(self, auth_query: dict, claims: dict, *, key: JWK | None = None) -> str:
        """The id_token the platform returns for AAIE's auth request (its nonce, its client)."""
        return self.sign({**claims, "nonce": auth_query["nonce"]}, key=key)

    # --- checks on what AAIE signs -------------------------------------------------------------
    def verify_tool_jwt(self, token: str, *, audience: str) -> dict:
        kid = jwt.get_unverified_header(token)["kid"]
        keys = {key["kid"]: key for key in self.tool_jwks()["keys"]}
        public = jwt.PyJWK(keys[kid]).key  # KeyError: signed with a key AAIE does not publish
        return jwt.decode(token, public, algorithms=["RS256"], audience=audience)


def _handler(sim: PlatformSimulator):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body, content_type: str = "application/json") -> None:
            data = (
                body
                if isinstance(body, bytes)
                else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            return {key: values[0] for key, values in parse_qs(raw).items()}

        def _scopes(self) -> list[str] | None:
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            return sim.tokens.get(token)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            if parts.path == "/jwks":
                return self._send(200, {"keys": [json.loads(sim.key.export_public())]})
            if parts.path == "/auth":
                return self._auth(query)
            if parts.path.startswith("/nrps/"):
                return self._nrps()
            if parts.path == "/course":
                page = (
                    '<!doctype html><html lang="en"><head><title>Simulated LMS course</title>'
                    "</head><body><h1>Biology 101</h1>"
                    f'<iframe title="AAIE" name="aaie" src="{html.escape(sim.iframe_src)}" '
                    'width="1000" height="800"></iframe></body></html>'
                )
                return self._send(200, page, "text/html")
            return self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if path == "/token":
                return self._token(self._form())
            if path.startswith("/lineitems/") and path.endswith("/scores"):
                return self._score(path)
            if path == "/deep_link_return":
                reply = sim.verify_tool_jwt(self._form()["JWT"], audience=sim.issuer)
                sim.recorded.deep_link_replies.append(reply)
                return self._send(200, "<p>Link added.</p>", "text/html")
            return self._send(404, {"error": "not found"})

        def _auth(self, query: dict) -> None:
            claims = sim.pending.get(query.get("login_hint", ""))
            if query.get("client_id") != CLIENT_ID or claims is None:
                return self._send(400, {"error": "invalid_request"})
            token = sim.launch_token(query, claims)
            page = (
                '<!doctype html><html lang="en"><head><title>Launching</title></head><body>'
                f'<form id="f" method="post" action="{html.escape(query["redirect_uri"])}">'
                f'<input type="hidden" name="id_token" value="{html.escape(token)}">'
                f'<input type="hidden" name="state" value="{html.escape(query["state"])}">'
                "</form><script>document.getElementById('f').submit()</script></body></html>"
            )
            return self._send(200, page, "text/html")

        def _token(self, form: dict) -> None:
            assertion = sim.verify_tool_jwt(form["client_assertion"], audience=f"{sim.url}/token")
            scopes = form.get("scope", "").split()
            sim.recorded.token_requests.append({"assertion": assertion, "scopes": scopes})
            if assertion["iss"] != CLIENT_ID or assertion["sub"] != CLIENT_ID:
                return self._send(401, {"error": "invalid_client"})
            token = uuid.uuid4().hex
            sim.tokens[token] = scopes
            return self._send(
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": " ".join(scopes),
                },
            )

        def _nrps(self) -> None:
            scopes = self._scopes()
            sim.recorded.nrps_requests.append({"scopes": scopes})
            if scopes is None or NRPS_SCOPE not in scopes:
                return self._send(403, {"error": "scope"})
            container = {"id": self.path, "context": {"id": CONTEXT_ID}, "members": sim.members}
            return self._send(
                200, container, "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
            )

        def _score(self, path: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            scopes = self._scopes()
            sim.recorded.scores.append(
                {
                    "url": path,
                    "body": body,
                    "scopes": scopes,
                    "content_type": self.headers.get("Content-Type"),
                }
            )
            if scopes is None or SCORE_SCOPE not in scopes:
                return self._send(403, {"error": "scope"})
            if sim.score_failures_left > 0:
                sim.score_failures_left -= 1
                return self._send(503, {"error": "try later"})
            return self._send(200, {})

    return Handler
