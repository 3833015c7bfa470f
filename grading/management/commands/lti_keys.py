"""AAIE's LTI signing keys: list, rotate (publish a new key that signs from now on, keep the
old one published), retire (stop publishing all but the signing key once platforms have
fetched the new key set)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from grading.lti.keys import key_create, key_retire_old, key_signing
from grading.lti.models import LtiKey


class Command(BaseCommand):
    help = "List, rotate or retire AAIE's LTI signing keys (see docs/lti.md, key rotation)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["list", "rotate", "retire-old"])

    def handle(self, *args, action: str, **options) -> None:
        if action == "rotate":
            key = key_create()
            self.stdout.write(f"New signing key {key.kid}; the old key stays published.")
        elif action == "retire-old":
            retired = key_retire_old()
            self.stdout.write(f"Retired {retired} key(s); {key_signing().kid} signs.")
        signing = key_signing()
        for key in LtiKey.objects.all():
            state = "retired" if key.retired_at else "published"
            state = "signing" if key.pk == signing.pk else state
            self.stdout.write(f"{key.kid}  {key.created_at:%Y-%m-%d %H:%M}  {state}")
