"""Register an LMS platform (LTI 1.3) and its deployment ids, or update one by issuer and
client id. The values come from the LMS's administrator (docs/lti.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from grading.lti.models import LtiDeployment, LtiPlatform


class Command(BaseCommand):
    help = "Register (or update) an LMS platform for LTI 1.3 launches, roster sync and grades."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--issuer", required=True)
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--deployment-id", action="append", default=[], dest="deployments")
        parser.add_argument("--auth-login-url", required=True)
        parser.add_argument("--auth-token-url", required=True)
        parser.add_argument("--key-set-url", required=True)
        parser.add_argument("--auth-audience", default="")
        parser.add_argument("--inactive", action="store_true", help="Refuse its launches.")

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not options["deployments"]:
            raise CommandError("Give at least one --deployment-id (the LMS shows it).")
        platform, created = LtiPlatform.objects.update_or_create(
            issuer=options["issuer"],
            client_id=options["client_id"],
            defaults={
                "name": options["name"],
                "auth_login_url": options["auth_login_url"],
                "auth_token_url": options["auth_token_url"],
                "key_set_url": options["key_set_url"],
                "auth_audience": options["auth_audience"],
                "is_active": not options["inactive"],
            },
        )
        platform.full_clean()
        for deployment_id in options["deployments"]:
            LtiDeployment.objects.get_or_create(platform=platform, deployment_id=deployment_id)
        verb = "Registered" if created else "Updated"
        deployments = ", ".join(platform.deployments.values_list("deployment_id", flat=True))
        self.stdout.write(f"{verb} {platform.name} ({platform.issuer}); deployments: {deployments}")
