"""Redis stops answering: submits and job pages are a 503 with Retry-After, never a 500, and nothing is stored."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def dead_redis_url():
    """A Redis URL on a port where nothing listens (the server went away)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/accounts", {"json": {"username": "SenWarren"}}),
        ("get", "/api/jobs/ingest-senwarren", {}),
        ("get", "/jobs/ingest-senwarren", {}),
        ("post", "/accounts", {"data": {"handle": "SenWarren"}}),
    ],
)
def test_without_redis_submits_and_job_pages_are_503(make_app, fake_x, dead_redis_url, method, path, body):
    app = make_app(X_API_URL=fake_x.url, REDIS_URL=dead_redis_url)
    response = getattr(app.test_client(), method)(path, **body)
    assert response.status_code == 503 and response.headers["Retry-After"] == "15"
    assert "job queue is not reachable" in response.get_data(as_text=True)
    assert fake_x.requests == []  # nothing was fetched from X either
