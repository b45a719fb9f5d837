"""The OpenAPI description of the JSON API: valid, served, and every route fuzzed from it (schemathesis)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
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


# --- with the job queue: Redis up (202 and the jobs' states), Redis down (503) ------------------------------

JOB = schema["/api/jobs/{job_id}"]["GET"]


@pytest.fixture
def queue_app(make_app, fake_x, redis_url, redis_db, seed, senate_tweets):
    """An app whose account additions are queued on the test Redis database, two accounts stored and one
    more on the fake X API (a valid handle that is not there is a job that fails)."""
    for handle in ("SenWarren", "marcorubio"):
        seed(handle, [text for _, text in senate_tweets[handle][-150:]])
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(30))
    return make_app(X_API_URL=fake_x.url, REDIS_URL=redis_url, JOB_HEARTBEAT_SECONDS=1)


def run_queued(app) -> None:
    """Run every queued job in this process, as a worker would."""
    from rq import SimpleWorker

    from twitapp import tasks
    from twitapp.redis_client import redis_connection

    with app.app_context():
        queue = tasks.queue()
        SimpleWorker([queue], connection=redis_connection(), serializer=queue.serializer).work(burst=True)


def header(response, name: str) -> str:
    [value] = response.headers[name.lower()]  # (schemathesis: lower-case names, lists of values)
    return value


def check(case, response) -> None:
    """The response matches the spec (status, headers, body); no 5xx but a documented 503 (schemathesis's
    own check refuses every 5xx, so the status conformance check judges those); errors are
    ``{"error": ...}``."""
    case.validate_response(response, excluded_checks=[positive_data_acceptance, not_a_server_error])
    assert response.status_code < 500 or response.status_code == 503, response.text
    if response.status_code >= 400:
        assert isinstance(response.json().get("error"), str)


def check_job_url(app, location: str) -> dict:
    """``GET`` of a 202's ``Location``, checked against the getJob operation: the job's state."""
    job_id = location.rsplit("/", 1)[-1]
    case = JOB.Case(path_parameters={"job_id": job_id})
    response = case.call(app=app)
    check(case, response)
    assert response.status_code == 200 and response.json()["job"]["url"] == location
    return response.json()["job"]


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_every_route_with_redis(case, queue_app):
    response = case.call(app=queue_app)
    check(case, response)
    if response.status_code == 202:
        assert header(response, "Location") == response.json()["job"]["url"]
        assert check_job_url(queue_app, header(response, "Location"))["status"] == "queued"
        run_queued(queue_app)  # the job ends (finished, or failed: no such account), still as documented
        assert check_job_url(queue_app, header(response, "Location"))["status"] in ("finished", "failed")


def test_a_queued_addition_and_its_job_match_the_spec_redis(queue_app):
    """The fuzzer's handles are rarely valid ones; a real one is queued (202), then each state of its job
    matches the schema: queued, then finished."""
    add = schema["/api/accounts"]["POST"]
    for username, final in (("Grassley", "finished"), ("nosuchaccount", "failed")):
        case = add.Case(body={"username": username}, media_type="application/json")
        response = case.call(app=queue_app)
        check(case, response)
        assert response.status_code == 202 and response.json()["job"]["joined"] is False
        assert check_job_url(queue_app, header(response, "Location"))["status"] == "queued"
        run_queued(queue_app)
        job = check_job_url(queue_app, header(response, "Location"))
        assert job["status"] == final and (job["error"] is None) == (final == "finished")


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 bound by this test and not listening: connections to it are refused at once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def queue_down_app(make_app, fake_x, closed_port, seed, senate_tweets):
    for handle in ("SenWarren", "marcorubio"):
        seed(handle, [text for _, text in senate_tweets[handle][-150:]])
    return make_app(X_API_URL=fake_x.url, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_every_route_with_redis_down(case, queue_down_app):
    response = case.call(app=queue_down_app)
    check(case, response)
    if response.status_code == 503:
        assert header(response, "Retry-After").isdigit()


def test_routes_that_need_the_queue_answer_503_as_documented_when_redis_is_down(queue_down_app):
    for case in (
        schema["/api/accounts"]["POST"].Case(body={"username": "Grassley"}, media_type="application/json"),
        JOB.Case(path_parameters={"job_id": "ingest-grassley"}),
    ):
        response = case.call(app=queue_down_app)
        check(case, response)
        assert response.status_code == 503 and header(response, "Retry-After").isdigit()
        assert "job queue is not reachable" in response.json()["error"]
