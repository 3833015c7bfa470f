"""What every API view shares: pagination, simple filters, lookups that 404 outside your courses."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer

from grading.permissions import is_educator

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Ids in input are bounded by what the database stores; a larger number would not even reach a
# lookup on SQLite (OverflowError).
MAX_ID = 2**63 - 1


class Pagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


def found(obj):
    """The object, or 404: another course's object answers exactly as a missing one."""
    if obj is None:
        raise exceptions.NotFound("Not found, or not yours to see.")
    return obj


def require_educator(user) -> None:
    if not is_educator(user):
        raise exceptions.PermissionDenied("This is for educators.")


@dataclass(frozen=True)
class Filter:
    """One `?name=value` filter of a list: the ORM lookup, the value type and allowed values."""

    lookup: str
    kind: type = str
    choices: tuple[str, ...] = ()
    description: str = ""

    def parse(self, name: str, raw: str):
        if self.kind is int:
            try:
                value = int(raw)
            except ValueError:
                raise exceptions.ValidationError({name: ["Give a whole number."]}) from None
            if not 1 <= value <= MAX_ID:
                raise exceptions.ValidationError({name: ["Give an existing id."]})
            return value
        if self.kind is bool:
            if raw.lower() not in ("true", "false"):
                raise exceptions.ValidationError({name: ["Give true or false."]})
            return raw.lower() == "true"
        if self.choices and raw not in self.choices:
            raise exceptions.ValidationError({name: [f"One of: {', '.join(self.choices)}."]})
        return raw


class FilterBackend(BaseFilterBackend):
    """Applies a list view's `filters` ({query name: Filter}) and documents them in the schema."""

    def filter_queryset(self, request, queryset, view):
        for name, spec in getattr(view, "filters", {}).items():
            raw = request.query_params.get(name)
            if raw not in (None, ""):
                queryset = queryset.filter(**{spec.lookup: spec.parse(name, raw)})
        return queryset

    def get_schema_operation_parameters(self, view) -> list[dict]:
        types = {int: "integer", bool: "boolean", str: "string"}
        parameters = []
        for name, spec in getattr(view, "filters", {}).items():
            schema: dict = {"type": types[spec.kind]}
            if spec.choices:
                schema["enum"] = list(spec.choices)
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": spec.description,
                    "schema": schema,
                }
            )
        return parameters


class CSVRenderer(BaseRenderer):
    """Lets clients ask for text/csv; export views write the CSV text themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return str(data).encode(self.charset)
