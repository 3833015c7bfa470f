"""AAIE's own signing keys: create, rotate without downtime, publish as a JWKS.

Platforms verify what AAIE signs (service token requests, deep linking responses) against the
JWKS they fetch from AAIE. A rotation adds a key that signs from now on while the old one stays
published, so tokens signed a moment ago still verify and platforms that cached the old set
find the new kid on their next fetch; retiring the old key later removes it from the set.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from jwcrypto.jwk import JWK
from pylti1p3.registration import Registration

from grading.lti.models import LtiKey

RSA_KEY_BITS = 2048


def key_create() -> LtiKey:
    """A new key pair; being the newest, it signs from now on."""
    key = JWK.generate(kty="RSA", size=RSA_KEY_BITS)
    public_pem = key.export_to_pem().decode()
    return LtiKey.objects.create(
        kid=Registration.get_jwk(public_pem)["kid"],
        private_key_pem=key.export_to_pem(private_key=True, password=None).decode(),
        public_key_pem=public_pem,
    )


def key_signing() -> LtiKey:
    """The key AAIE signs with: the newest unretired one (made on first use)."""
    key = LtiKey.objects.filter(retired_at__isnull=True).first()
    return key or key_create()


@transaction.atomic
def key_retire_old() -> int:
    """End a rotation: stop publishing every key but the signing one. Returns how many."""
    signing = key_signing()
    return (
        LtiKey.objects.filter(retired_at__isnull=True)
        .exclude(pk=signing.pk)
        .update(retired_at=timezone.now())
    )


def jwks() -> dict:
    """Every published key, signing key first."""
    if not LtiKey.objects.filter(retired_at__isnull=True).exists():
        key_signing()
    return {
        "keys": [
            Registration.get_jwk(key.public_key_pem)
            for key in LtiKey.objects.filter(retired_at__isnull=True)
        ]
    }
