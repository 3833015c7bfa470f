"""pylti1p3 fitted to AAIE: registrations from the database, a single-use nonce, timeouts.

pylti1p3 does the protocol: OIDC login, the launch's signature (against the platform's JWKS),
issuer, client id (the audience), state, nonce, deployment and message checks, and signing
AAIE's service and deep linking tokens. Three gaps are closed here:
- a nonce is consumed when checked, so a launch cannot be replayed (pylti1p3 only looks it up);
- an id_token must carry exp and iat (PyJWT checks them only when present);
- every HTTP call to a platform has a timeout (pylti1p3's requests session has none).
"""

from __future__ import annotations

import requests
from django.conf import settings
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.contrib.django.session import DjangoSessionService
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.tool_config import ToolConfAbstract

from grading.lti.keys import key_signing
from grading.lti.models import LtiDeployment, LtiPlatform

# PyJWT options for the launch's id_token: the audience is checked as the registration's
# client id (pylti1p3 looks the registration up by iss and aud), expiry and issue time must be
# present, and the signature and exp are verified.
ID_TOKEN_VERIFY_OPTIONS = {"verify_aud": False, "require": ["exp", "iat"]}


class TimeoutSession(requests.Session):
    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", settings.AAIE_LTI_HTTP_TIMEOUT_SECONDS)
        return super().request(method, url, **kwargs)


def http_session() -> requests.Session:
    session = TimeoutSession()
    session.headers["User-Agent"] = "AAIE-LTI"
    return session


def registration_for(platform: LtiPlatform) -> Registration:
    """pylti1p3's view of a platform, with AAIE's current signing key."""
    key = key_signing()
    return (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_auth_audience(platform.auth_audience or None)
        .set_key_set_url(platform.key_set_url)
        .set_tool_private_key(key.private_key_pem)
        .set_tool_public_key(key.public_key_pem)
    )


def service_connector(platform: LtiPlatform) -> ServiceConnector:
    return ServiceConnector(registration_for(platform), http_session())


class ToolConfig(ToolConfAbstract):
    """Registrations and deployments from the database; one issuer may hold many client ids."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def platform(self, iss: str, client_id: str | None) -> LtiPlatform | None:
        platforms = LtiPlatform.objects.filter(issuer=iss, is_active=True)
        if client_id:
            return platforms.filter(client_id=client_id).first()
        # Some platforms leave client_id out of the login request; one registration is no doubt.
        found = list(platforms[:2])
        return found[0] if len(found) == 1 else None

    def find_registration_by_issuer(self, iss: str, *args, **kwargs) -> Registration | None:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args, **kwargs
    ) -> Registration | None:
        platform = self.platform(iss, client_id)
        return registration_for(platform) if platform else None

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args, **kwargs
    ) -> Deployment | None:
        platform = self.platform(iss, client_id)
        if platform is None or not deployment_id:
            return None
        deployments = LtiDeployment.objects.filter(platform=platform, deployment_id=deployment_id)
        if not deployments.exists():
            return None  # never created on the fly: only registered deployments may launch
        return Deployment().set_deployment_id(deployment_id)


class LaunchDataStorage(DjangoCacheDataStorage):
    """The Django cache (Redis with AAIE_CACHE_URL, shared by every web process)."""

    def consume_value(self, key: str) -> bool:
        """Delete a key; True only for the one caller that found it (atomic in Redis)."""
        return bool(self._get_cache().delete(self._prepare_key(key)))


class SessionService(DjangoSessionService):
    def check_nonce(self, nonce: str) -> bool:
        return self.data_storage.consume_value(self._get_key("nonce", nonce))


class MessageLaunch(DjangoMessageLaunch):
    def validate_registration(self):
        super().validate_registration()
        body = self._get_jwt_body()
        aud = body.get("aud")
        # With several audiences the token must say which party it was issued to (OIDC core).
        if isinstance(aud, list) and len(aud) > 1 and body.get("azp") != self.get_client_id():
            raise LtiException("azp does not name this tool's client id")
        return self


def message_launch(request) -> MessageLaunch:
    launch = MessageLaunch(
        request,
        ToolConfig(),
        session_service=SessionService(request),
        launch_data_storage=LaunchDataStorage(),
        requests_session=http_session(),
    )
    return launch.set_jwt_verify_options(dict(ID_TOKEN_VERIFY_OPTIONS))


def oidc_login(request) -> DjangoOIDCLogin:
    return DjangoOIDCLogin(
        request,
        ToolConfig(),
        session_service=SessionService(request),
        launch_data_storage=LaunchDataStorage(),
    )
