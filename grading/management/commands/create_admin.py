"""Create the first admin without a prompt: for containers and first installs.

The password comes from AAIE_ADMIN_PASSWORD (or AAIE_ADMIN_PASSWORD_FILE), never the command
line, so it stays out of shell history and process lists.
"""

from django.core.management.base import BaseCommand, CommandError

from aaie.env import env_str
from grading.errors import ApplicationError
from grading.services.users import admin_create


class Command(BaseCommand):
    help = "Create an admin user; the password is read from AAIE_ADMIN_PASSWORD."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, email: str, **options) -> None:
        password = env_str("AAIE_ADMIN_PASSWORD")
        if not password:
            raise CommandError("Set AAIE_ADMIN_PASSWORD (or AAIE_ADMIN_PASSWORD_FILE) first.")
        try:
            admin_create(username=username, email=email, password=password)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"Admin {username} created."))
