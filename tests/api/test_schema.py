"""The OpenAPI document and the interactive docs."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get(reverse("api_schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def has_examples(content: dict) -> bool:
    return all("example" in media or "examples" in media for media in content.values())


def test_the_schema_is_openapi_3_and_lists_every_api_route(schema):
    from grading.api.urls import urlpatterns

    assert schema["openapi"].startswith("3.")
    endpoints = [p for p in urlpatterns if p.name != "api_not_found"]
    assert len(schema["paths"]) == len(endpoints)
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_every_operation_documents_its_input_output_and_errors_with_examples(schema):
    for name, operation in operations(schema):
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert len(success) == 1, name
        content = responses[success[0]]["content"]
        assert all("schema" in media for media in content.values()), name
        assert has_examples(content), name
        if "requestBody" in operation:
            body = operation["requestBody"]["content"]
            assert all("schema" in media for media in body.values()), name
            assert has_examples(body), name
        for code in ("400", "401", "403", "404", "429"):
            error = responses[code]["content"]["application/json"]
            assert error["schema"] == {"$ref": "#/components/schemas/Error"}, name


def test_the_interactive_docs_load_without_any_cdn(client):
    response = client.get(reverse("api_docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    # Swagger UI comes from our own static files (drf-spectacular-sidecar), never a CDN.
    assert "cdn." not in page and "unpkg" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
