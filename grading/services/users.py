"""Users and roles: roster import for a course, and the first admin."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from grading.errors import ApplicationError
from grading.models import Course, Enrolment
from grading.services.courses import enrolment_set

ROSTER_COLUMNS = ("username", "email", "first_name", "last_name", "role")
MAX_ROSTER_ROWS = 2000
MAX_ROSTER_BYTES = 1024 * 1024
# What Django's username validator accepts, said for a person fixing the roster.
USERNAME_RULE = "(letters, digits and @ . + - _ only, at most 150 characters)"


@dataclass
class RosterResult:
    created: list[str] = field(default_factory=list)
    enrolled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "line N: reason"


def _roster_rows(csv_text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(csv_text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in ("username", "email") if name not in header]
    if missing:
        raise ApplicationError(
            f"The roster needs the columns {', '.join(ROSTER_COLUMNS)} "
            f"(missing: {', '.join(missing)})."
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        if len(rows) >= MAX_ROSTER_ROWS:
            raise ApplicationError(f"A roster has at most {MAX_ROSTER_ROWS} rows.")
        rows.append({key: (value or "").strip() for key, value in row.items() if key})
    return rows


@transaction.atomic
def roster_import(*, course: Course, csv_text: str) -> RosterResult:
    """Create missing users (with a password nobody knows) and enrol every row in the course.

    Usernames are normalised as login normalises them (NFKC) and must pass Django's username
    validator. An existing account is enrolled only when the row gives its email. Bad rows are
    reported by line and skipped; good rows are imported. New users set their
    password through the password-reset email.
    """
    if len(csv_text.encode()) > MAX_ROSTER_BYTES:
        raise ApplicationError("The roster file is too large (1 MB at most).")
    User = get_user_model()
    result = RosterResult()
    for line, row in enumerate(_roster_rows(csv_text), start=2):
        username, email = User.normalize_username(row.get("username", "")), row.get("email", "")
        role = (row.get("role") or Enrolment.Role.STUDENT).lower()
        if not username:
            result.errors.append(f"line {line}: no username")
            continue
        try:
            User._meta.get_field(User.USERNAME_FIELD).run_validators(username)
        except ValidationError:
            result.errors.append(f"line {line}: not a valid username {USERNAME_RULE}")
            continue
        if role not in Enrolment.Role.values:
            result.errors.append(f"line {line}: role must be student or educator, not {role!r}")
            continue
        try:
            validate_email(email)
        except ValidationError:
            result.errors.append(f"line {line}: {email!r} is not an email address")
            continue
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "email": email,
                "first_name": row.get("first_name", "")[:150],
                "last_name": row.get("last_name", "")[:150],
            },
        )
        if not created and user.email.casefold() != email.casefold():
            # Else a roster of guessed usernames would enrol anyone and show their name and email.
            result.errors.append(
                f"line {line}: the username {username!r} belongs to an account with another "
                f"email; not enrolled"
            )
            continue
        if created:
            # A random password nobody knows: Django's reset email skips unusable passwords.
            user.set_password(secrets.token_urlsafe(32))
            user.save(update_fields=["password"])
            result.created.append(username)
        enrolment_set(course=course, user=user, role=role)
        result.enrolled.append(username)
    return result


def admin_create(*, username: str, email: str, password: str):
    """The first admin (or another): staff and superuser, with a validated password."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ApplicationError(f"A user named {username} exists already.")
    user = User(username=username, email=email, is_staff=True, is_superuser=True)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages)) from None
    user.set_password(password)
    user.save()
    return user
