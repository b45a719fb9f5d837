"""The OpenAPI description of the JSON API: valid, served, and every route fuzzed from it (schemathesis)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import positive_data_acceptance

from twitapp.api.openapi import SPEC

schema = schemathesis.openapi.from_dict(SPEC)


def test_the_spec_is_valid_openapi():
    validate(SPEC)


def test_the_spec_is_served(client):
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200
    assert answer.get_json() == SPEC


@pytest.fixture
def fuzz_app(app, two_senators):
    return app


@schema.parametrize()
@settings(max_examples=30, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_every_route(case, fuzz_app):
    response = case.call(app=fuzz_app)
    # a schema-valid body may still be refused (an empty username is a 400): that check is left out
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    if response.status_code >= 400:
        assert isinstance(response.json().get("error"), str)
