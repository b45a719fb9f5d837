"""Uploads waiting in Redis for a worker: bounded per client address, and deleted however their job ends."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from twitapp import tasks
from twitapp.redis_client import redis_connection
from twitapp.tasks.queue import queued_bytes_key

CSV = b"author,text\n" + b"".join(b"uploader,post number %d about the weather\n" % i for i in range(12000))


@pytest.fixture
def upload_app(make_app, fake_x, redis_url, redis_db):
    return make_app(X_API_URL=fake_x.url, REDIS_URL=redis_url, MAX_QUEUED_UPLOAD_MB=1, JOB_HEARTBEAT_SECONDS=1)


def upload(client, address, data=CSV, name="posts.csv"):
    return client.post(
        "/import",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": address},
    )


def test_redis_queued_uploads_are_bounded_per_address(upload_app):
    assert 0.5e6 < len(CSV) < 1024 * 1024
    client = upload_app.test_client()
    assert upload(client, "198.51.100.7").status_code == 303  # queued: to the job's page
    refused = upload(client, "198.51.100.7")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert "at most 1 MB per address" in refused.get_data(as_text=True)
    assert upload(client, "198.51.100.8").status_code == 303  # another address has its own budget
    with upload_app.app_context():
        assert tasks.queue().count == 2
        assert int(redis_connection().get(queued_bytes_key("198.51.100.7"))) == len(CSV)


def test_redis_upload_of_a_failed_job_is_deleted_and_its_bytes_given_back(upload_app):
    from rq import SimpleWorker

    client = upload_app.test_client()
    assert upload(client, "198.51.100.9", data=b"not,a\ncsv file without text", name="bad.csv").status_code == 303
    with upload_app.app_context():
        conn = redis_connection()
        assert list(conn.scan_iter("hypotweet:upload:*"))
        queue = tasks.queue()
        SimpleWorker([queue], connection=conn, serializer=queue.serializer).work(burst=True)
        assert not list(conn.scan_iter("hypotweet:upload:*"))
        assert int(conn.get(queued_bytes_key("198.51.100.9")) or 0) == 0
    assert upload(client, "198.51.100.9").status_code == 303  # the budget is free again


def test_redis_upload_of_an_abandoned_job_is_deleted_when_it_is_found_dead(upload_app):
    client = upload_app.test_client()
    response = upload(client, "198.51.100.10")
    job_id = response.headers["Location"].rsplit("/", 1)[-1]
    with upload_app.app_context():
        conn = redis_connection()
        job = tasks.fetch(job_id)
        job.set_status("started")  # a worker took it, then was killed (SIGKILL, out of memory)
        job.started_at = datetime.now(UTC) - timedelta(minutes=5)
        job.save()
        assert conn.exists(f"hypotweet:upload:{job_id}")
        state = tasks.find_job_state(job_id)
        assert state["status"] == "failed"
        assert not conn.exists(f"hypotweet:upload:{job_id}")
        assert int(conn.get(queued_bytes_key("198.51.100.10")) or 0) == 0
