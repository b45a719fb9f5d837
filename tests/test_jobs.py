"""Background jobs on RQ and a real Redis (``TEST_REDIS_URL``, its app keys cleared around each test; see
conftest.py).

Most tests run the queued jobs with an in-process ``SimpleWorker``; ``test_real_worker_killed_mid_job`` runs
``flask worker`` as a subprocess on the same SQLite file (or TEST_DATABASE_URL) and the same fake X API and Redis, and
kills it mid-job (the test stops every process it started).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from twitapp import tasks as jobs
from twitapp.extensions import db
from twitapp.models import Account
from twitapp.redis_client import redis_connection
from twitapp.tasks import worker as task_worker

from .helpers import ADMIN, ROOT, stored, wait_for


@pytest.fixture
def qapp(make_app, fake_x, redis_url, redis_db):
    """An app whose long work goes to the queue."""
    return make_app(X_API_URL=fake_x.url, REDIS_URL=redis_url, JOB_HEARTBEAT_SECONDS=1)


@pytest.fixture
def qclient(qapp):
    return qapp.test_client()


def run_queued(app) -> None:
    """Run every queued job in this process, as a worker would."""
    from rq import SimpleWorker

    with app.app_context():
        queue = jobs.queue()
        SimpleWorker([queue], connection=redis_connection(), serializer=queue.serializer).work(burst=True)


def test_add_job_completes_and_the_account_is_stored(qapp, qclient, fake_x):
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(250))
    response = qclient.post("/api/accounts", json={"username": "grassley"})
    assert response.status_code == 202
    job = response.get_json()["job"]
    assert job["id"] == "ingest-grassley" and job["status"] == "queued"
    assert response.headers["Location"].endswith("/api/jobs/ingest-grassley")
    assert stored(qapp, "Grassley") is None  # the request did no ingesting

    page = qclient.get("/jobs/ingest-grassley")
    assert page.status_code == 200 and b"Waiting for a worker" in page.data
    assert b'http-equiv="refresh"' in page.data and b"jobs.js" in page.data and b"<script>" not in page.data

    run_queued(qapp)
    job = qclient.get("/api/jobs/ingest-grassley").get_json()["job"]
    assert job["status"] == "finished" and job["phase"] == "done"
    assert job["message"] == "Added @Grassley: 250 new tweets." and job["usernames"] == ["Grassley"]
    assert stored(qapp, "Grassley") == 250
    page = qclient.get("/jobs/ingest-grassley")
    assert b"Added @Grassley: 250 new tweets." in page.data and b"/accounts/Grassley" in page.data
    assert b'http-equiv="refresh"' not in page.data


def test_a_bluesky_add_job_completes_and_says_its_platform(make_app, fake_x, fake_bluesky, redis_url, redis_db):
    from .fake_bluesky import FakeBluesky

    app = make_app(X_API_URL=fake_x.url, BLUESKY_API_URL=fake_bluesky.url, REDIS_URL=redis_url)
    client = app.test_client()
    fake_bluesky.add_actor("alice.bsky.social", FakeBluesky.make_posts(130))
    response = client.post("/api/accounts", json={"username": "alice", "platform": "bluesky"})
    assert response.status_code == 202
    job = response.get_json()["job"]
    assert job["id"] == "ingest-bluesky-alice_bsky_social"
    assert job["label"] == "Fetching @alice.bsky.social from Bluesky"
    assert fake_bluesky.requests == []  # the request did no fetching
    run_queued(app)
    job = client.get("/api/jobs/ingest-bluesky-alice_bsky_social").get_json()["job"]
    assert job["status"] == "finished" and job["usernames"] == ["alice.bsky.social"]
    assert job["message"] == "Added @alice.bsky.social from Bluesky: 130 new posts."
    assert b"/accounts/alice.bsky.social" in client.get("/jobs/ingest-bluesky-alice_bsky_social").data
    assert stored(app, "alice.bsky.social") == 130


def test_a_mastodon_add_job_completes_and_says_its_platform(make_app, fake_x, fake_mastodon, redis_url, redis_db):
    from .fake_mastodon import FakeMastodon

    app = make_app(X_API_URL=fake_x.url, MASTODON_API_URL=fake_mastodon.url, REDIS_URL=redis_url)
    client = app.test_client()
    fake_mastodon.add_account("alice@mastodon.social", FakeMastodon.make_posts(70))
    response = client.post("/api/accounts", json={"username": "alice@mastodon.social", "platform": "mastodon"})
    assert response.status_code == 202
    job = response.get_json()["job"]
    assert job["id"].startswith("ingest-mastodon-alice-at-mastodon_social-")
    assert job["label"] == "Fetching @alice@mastodon.social from Mastodon"
    assert fake_mastodon.requests == []  # the request did no fetching
    run_queued(app)
    job = client.get(f"/api/jobs/{job['id']}").get_json()["job"]
    assert job["status"] == "finished" and job["usernames"] == ["alice@mastodon.social"]
    assert job["message"] == "Added @alice@mastodon.social from Mastodon: 70 new posts."
    assert stored(app, "alice@mastodon.social") == 70


def test_pages_enqueue_add_update_import_and_redirect_to_the_job(qapp, qclient, fake_x, redis_db):
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(120))
    response = qclient.post("/accounts", data={"handle": "@Grassley"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/jobs/ingest-grassley")
    run_queued(qapp)
    fake_x.add_tweets("Grassley", fake_x.make_tweets(5, start="2023-05-01T00:00:00Z"))
    response = qclient.post("/accounts/Grassley/update")
    assert response.status_code == 303 and response.headers["Location"].endswith("/jobs/ingest-grassley")
    run_queued(qapp)
    assert qclient.get("/api/jobs/ingest-grassley").get_json()["job"]["message"] == "Updated @Grassley: 5 new tweets."

    body = b"author,text\njane_doe,hello there friends\njane_doe,another day another tweet\n"
    response = qclient.post(
        "/import", data={"file": (io.BytesIO(body), "mine.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert job_id.startswith("import-") and redis_db.get(jobs.KEY_PREFIX + "upload:" + job_id) == body
    run_queued(qapp)
    job = qclient.get(f"/api/jobs/{job_id}").get_json()["job"]
    assert job["status"] == "finished" and job["usernames"] == ["jane_doe"]
    assert stored(qapp, "jane_doe") == 2
    assert redis_db.get(jobs.KEY_PREFIX + "upload:" + job_id) is None  # the upload is gone with the job


def test_progress_meta_advances(qapp, qclient, fake_x, monkeypatch):
    from rq.job import Job

    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(450))
    seen = []
    original = Job.save_meta

    def record(self):
        seen.append((self.meta.get("phase"), self.meta.get("done"), self.meta.get("total")))
        return original(self)

    monkeypatch.setattr(Job, "save_meta", record)
    monkeypatch.setattr(task_worker, "PROGRESS_EVERY", 0)
    assert qclient.post("/api/accounts", json={"username": "Grassley"}).status_code == 202
    run_queued(qapp)
    phases = [phase for phase, _, _ in seen]
    order = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert order == ["starting", "fetching", "embedding", "storing", "done"]
    fetched = [done for phase, done, _ in seen if phase == "fetching"]
    assert fetched == sorted(fetched) and fetched[-1] == 450 and len(set(fetched)) >= 4  # 5 pages
    assert ("storing", 450, 450) in seen


def test_progress_saves_are_throttled():
    class FakeJob:
        def __init__(self):
            self.meta, self.saves = {}, 0

        def save_meta(self):
            self.saves += 1

    job = FakeJob()
    progress = jobs.JobProgress(job, every=60)
    for done in range(1000):
        progress("embedding", done, 1000)
    progress("embedding", 1000, 1000)
    progress("storing", 0, 1000)
    assert job.saves == 3 and job.meta["phase"] == "storing"


def test_failing_job_is_shown_failed_with_its_message(qapp, qclient, fake_x):
    response = qclient.post("/accounts", data={"handle": "nosuchuser_xyz"})
    assert response.status_code == 303
    run_queued(qapp)
    job = qclient.get("/api/jobs/ingest-nosuchuser_xyz").get_json()["job"]
    assert job["status"] == "failed" and job["retries"] == 0  # not worth retrying
    assert job["error"] == "X has no account @nosuchuser_xyz. Check the spelling."
    page = qclient.get("/jobs/ingest-nosuchuser_xyz")
    assert page.status_code == 200
    assert b"X has no account @nosuchuser_xyz. Check the spelling." in page.data
    assert b"Traceback" not in page.data and b'http-equiv="refresh"' not in page.data
    with qapp.app_context():
        assert db.session.scalar(select(func.count()).select_from(Account)) == 0


def test_update_all_queues_one_job_per_x_account(qapp, qclient, fake_x):
    for handle, n in (("Grassley", 12), ("marcorubio", 14)):
        fake_x.add_user(handle, tweets=fake_x.make_tweets(n, seed=n))
        qclient.post("/accounts", data={"handle": handle})
    run_queued(qapp)
    fake_x.add_tweets("Grassley", fake_x.make_tweets(3, start="2023-05-01T00:00:00Z", prefix="new"))

    response = qclient.post("/accounts/update-all", data={"admin_password": ADMIN})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Fetching new tweets of @Grassley, @marcorubio in the background" in qclient.get("/").get_data(as_text=True)
    assert stored(qapp, "Grassley") == 12  # the request fetched nothing itself
    run_queued(qapp)
    assert qclient.get("/api/jobs/ingest-grassley").get_json()["job"]["message"] == "Updated @Grassley: 3 new tweets."
    message = qclient.get("/api/jobs/ingest-marcorubio").get_json()["job"]["message"]
    assert message == "Updated @marcorubio: no new tweets."
    assert (stored(qapp, "Grassley"), stored(qapp, "marcorubio")) == (15, 14)


def test_invalid_handle_is_refused_before_any_job(qclient, redis_db):
    response = qclient.post("/api/accounts", json={"username": "not a handle!"})
    assert response.status_code == 400
    assert not redis_db.keys("rq:job:*")


def test_server_error_is_retried_then_succeeds(qapp, qclient, fake_x, monkeypatch):
    monkeypatch.setattr(task_worker, "UPSTREAM_RETRY_INTERVALS", [0])  # no waiting in a test
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(150))
    fake_x.fail(503, path_contains="/tweets", after=1)  # the second page, once
    assert qclient.post("/api/accounts", json={"username": "Grassley"}).status_code == 202
    run_queued(qapp)
    job = qclient.get("/api/jobs/ingest-grassley").get_json()["job"]
    assert job["status"] == "finished" and job["retries"] == 1
    assert stored(qapp, "Grassley") == 150


def test_retries_are_bounded(qapp, qclient, fake_x, monkeypatch):
    monkeypatch.setattr(task_worker, "UPSTREAM_RETRY_INTERVALS", [0])
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(50))
    fake_x.fail(500, path_contains="/tweets", times=None)
    assert qclient.post("/api/accounts", json={"username": "Grassley"}).status_code == 202
    run_queued(qapp)
    job = qclient.get("/api/jobs/ingest-grassley").get_json()["job"]
    assert job["status"] == "failed" and job["retries"] == jobs.MAX_RETRIES
    assert "X's servers failed (500)" in job["error"]
    assert len([r for r in fake_x.requests if "/tweets" in r["path"]]) == jobs.MAX_RETRIES + 1
    assert stored(qapp, "Grassley") is None


def test_rate_limit_is_retried_after_the_reset_time(qapp, qclient, fake_x):
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(50))
    fake_x.fail(429, path_contains="/tweets", headers={"x-rate-limit-reset": str(int(time.time()) + 120)})
    assert qclient.post("/api/accounts", json={"username": "Grassley"}).status_code == 202
    run_queued(qapp)
    job = qclient.get("/api/jobs/ingest-grassley").get_json()["job"]
    assert job["status"] == "scheduled" and "rate limit" in job["error"]
    with qapp.app_context():
        when = jobs.queue().scheduled_job_registry.get_scheduled_time("ingest-grassley")
    assert 100 < when.timestamp() - time.time() < 130
    page = qclient.get("/jobs/ingest-grassley")
    assert b"tried again automatically" in page.data


def test_two_concurrent_requests_for_one_account_run_one_job(qapp, fake_x, redis_db):
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(120))
    answers = []
    barrier = threading.Barrier(4)

    def post(handle):
        client = qapp.test_client()
        barrier.wait()
        answers.append(client.post("/api/accounts", json={"username": handle}))

    threads = [threading.Thread(target=post, args=(h,)) for h in ("Grassley", "grassley", "@GRASSLEY", "Grassley")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [202] * 4
    assert {a.get_json()["job"]["id"] for a in answers} == {"ingest-grassley"}
    assert sorted(a.get_json()["job"]["joined"] for a in answers) == [False, True, True, True]
    with qapp.app_context():
        assert jobs.queue().count == 1
    run_queued(qapp)
    assert len([r for r in fake_x.requests if "/users/by/username/" in r["path"]]) == 1
    assert stored(qapp, "Grassley") == 120


def test_without_redis_the_job_pages_do_not_exist(client):
    assert client.get("/jobs/ingest-grassley").status_code == 404
    assert client.get("/api/jobs/ingest-grassley").status_code == 404


def test_cli_enqueues_with_redis(qapp, fake_x):
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(20))
    result = qapp.test_cli_runner().invoke(args=["accounts", "add", "Grassley"])
    assert result.exit_code == 0 and "ingest-grassley: queued" in result.output
    run_queued(qapp)
    assert stored(qapp, "Grassley") == 20


def _start_worker(app, fake_x, tmp_path, name, *extra, command=("-m", "flask", "--app", "twitapp", "worker")):
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS="1",
        SECRET_KEY="test-worker-secret",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        X_API_URL=fake_x.url,
        X_BEARER_TOKEN="test-token",
        REDIS_URL=app.config["REDIS_URL"],
        JOB_HEARTBEAT_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (the worker writes it until it is stopped)
    process = subprocess.Popen(
        [sys.executable, *command, *extra],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def _kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` (SIGKILL) to a process and all its descendants (rq's work horse calls setsid(), so a
    process group would miss it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    for member in tree:
        try:
            os.kill(member, sig)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_real_worker_killed_mid_job_leaves_nothing_half_and_the_job_runs_again(qapp, qclient, fake_x, tmp_path):
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(450))
    fake_x.delay(120, path_contains="/tweets", after=2)  # the third page hangs: the job is mid-fetch
    worker, log = _start_worker(qapp, fake_x, tmp_path, "worker1")
    try:
        response = qclient.post("/api/accounts", json={"username": "Grassley"})
        assert response.status_code == 202
        wait_for(lambda: len([r for r in fake_x.requests if "/tweets" in r["path"]]) >= 3, what="the third page")
        job = wait_for(
            lambda: (j := qclient.get("/api/jobs/ingest-grassley").get_json()["job"])["done"] >= 200 and j,
            timeout=5,
            what="the progress of two pages",
        )  # the throttled count is flushed in the stall
        assert job["status"] == "started" and job["phase"] == "fetching" and job["total"] == 3200
        _kill_tree(worker.pid)  # the dyno dies: worker, work horse and scheduler at once
        worker.wait(10)
    finally:
        _kill_tree(worker.pid)
        log.close()
    assert stored(qapp, "Grassley") is None  # nothing half

    job = wait_for(
        lambda: (j := qclient.get("/api/jobs/ingest-grassley").get_json()["job"])["status"] == "failed" and j,
        timeout=10,
        what="the job to count as abandoned",
    )
    assert job["error"] == jobs.ABANDONED
    assert b"stopped before it finished" in qclient.get("/jobs/ingest-grassley").data

    again = qclient.post("/api/accounts", json={"username": "Grassley"})
    assert again.status_code == 202 and again.get_json()["job"]["joined"] is False
    _second_worker_stores_all_450(qapp, qclient, fake_x, tmp_path)


@pytest.mark.slow
def test_real_worker_killed_right_after_its_commit_shows_the_job_finished(qapp, qclient, fake_x, tmp_path):
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(40))
    assert qclient.post("/api/accounts", json={"username": "Grassley"}).status_code == 202
    worker, log = _start_worker(qapp, fake_x, tmp_path, "dying", "--burst", command=("-m", "tests.dying_worker"))
    try:
        worker.wait(90)
    finally:
        _kill_tree(worker.pid)
        log.close()
    assert worker.returncode == -signal.SIGKILL, (tmp_path / "dying.log").read_text()
    assert stored(qapp, "Grassley") == 40  # committed, though Redis never heard the job end

    job = wait_for(
        lambda: (j := qclient.get("/api/jobs/ingest-grassley").get_json()["job"])["status"] != "started" and j,
        timeout=15,
        what="the job's heartbeat to lapse",
    )
    assert (job["status"], job["error"]) == ("finished", None)
    assert job["message"] == "Added @Grassley: 40 new tweets." and job["usernames"] == ["Grassley"]
    page = qclient.get("/jobs/ingest-grassley").get_data(as_text=True)
    assert "Added @Grassley: 40 new tweets." in page and "Nothing of it was stored" not in page


def _second_worker_stores_all_450(app, client, fake_x, tmp_path) -> None:
    """A second worker (burst) runs the queued job for Grassley to the end: all 450 tweets stored."""
    worker, log = _start_worker(app, fake_x, tmp_path, "worker2", "--burst")
    try:
        assert worker.wait(120) == 0, (tmp_path / "worker2.log").read_text()
    finally:
        _kill_tree(worker.pid)
        log.close()
    job = client.get("/api/jobs/ingest-grassley").get_json()["job"]
    assert job["status"] == "finished", (tmp_path / "worker2.log").read_text()
    assert job["message"] == "Added @Grassley: 450 new tweets."
    assert stored(app, "Grassley") == 450


@pytest.mark.slow
def test_real_worker_stopped_by_sigterm_mid_job_hands_it_back(qapp, qclient, fake_x, tmp_path):
    """A dyno restart: Heroku sends SIGTERM to every process of the dyno. rq's HerokuWorker gives the job 6
    seconds (1 in tests.prompt_worker), then stops it; the job stores nothing, is queued again at once with a
    message, and the next worker runs it to the end."""
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(450))
    fake_x.delay(120, path_contains="/tweets", after=2)  # the third page hangs: the job is mid-fetch
    worker, log = _start_worker(qapp, fake_x, tmp_path, "worker1", command=("-m", "tests.prompt_worker"))
    try:
        assert qclient.post("/api/accounts", json={"username": "Grassley"}).status_code == 202
        wait_for(lambda: len([r for r in fake_x.requests if "/tweets" in r["path"]]) >= 3, what="the third page")
        _kill_tree(worker.pid, signal.SIGTERM)
        assert worker.wait(30) is not None  # it stopped long before the hanging page's 120 s
    finally:
        _kill_tree(worker.pid)
        log.close()
    assert stored(qapp, "Grassley") is None  # nothing half
    job = qclient.get("/api/jobs/ingest-grassley").get_json()["job"]
    assert (job["status"], job["retries"]) == ("queued", 1), (tmp_path / "worker1.log").read_text()
    _second_worker_stores_all_450(qapp, qclient, fake_x, tmp_path)


def _own_redis_server(port: int, tmp_path: Path) -> subprocess.Popen:
    """A redis-server of this test's own on ``port`` (no disk), answering before this returns."""
    import redis

    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        wait_for(lambda: _pings(client), timeout=10, what="the test's redis-server")
    finally:
        client.close()
    return process


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.exceptions.RedisError:
        return False


@pytest.mark.slow
def test_real_worker_outlives_a_redis_restart_mid_job(make_app, fake_x, tmp_path):
    """Redis goes away while a job runs (a restart, a failover) and is still away when the job ends: RQ's
    worker quits on it, and ``run_worker``'s loop waits for Redis and starts a new one, which runs the next
    job. Redis stays away until RQ's worker has quit: an outage shorter than a slow X page is never seen by
    it (RQ retries its own dequeue), and a test of that passed without the loop (issue 17, finding 16)."""
    import shutil
    import socket

    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server on the PATH")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = _own_redis_server(port, tmp_path)
    app = make_app(X_API_URL=fake_x.url, REDIS_URL=f"redis://127.0.0.1:{port}/0", JOB_HEARTBEAT_SECONDS=1)
    client = app.test_client()
    fake_x.add_user("Grassley", tweets=fake_x.make_tweets(300))
    fake_x.add_user("marcorubio", tweets=fake_x.make_tweets(30))
    fake_x.delay(2, path_contains="/tweets", after=1)  # the second page is slow: Redis dies meanwhile
    worker, log = _start_worker(app, fake_x, tmp_path, "reconnect")
    try:
        assert client.post("/api/accounts", json={"username": "Grassley"}).status_code == 202
        wait_for(lambda: len([r for r in fake_x.requests if "/tweets" in r["path"]]) >= 2, what="the second page")
        server.kill()
        server.wait(10)
        # the job fails on its next progress save (nothing stored), and RQ's worker quits on it
        quits = b"found an unhandled exception, quitting"
        wait_for(lambda: quits in (tmp_path / "reconnect.log").read_bytes(), timeout=30, what="RQ's worker to quit")
        time.sleep(1)
        server = _own_redis_server(port, tmp_path)  # back, empty (no persistence)
        assert client.post("/api/accounts", json={"username": "marcorubio"}).status_code == 202
        wait_for(lambda: stored(app, "marcorubio") == 30 or worker.poll() is not None, timeout=60, what="the next job")
        assert worker.poll() is None, (tmp_path / "reconnect.log").read_text()[-3000:]
        assert stored(app, "marcorubio") == 30
    finally:
        _kill_tree(worker.pid)
        worker.wait(10)
        log.close()
        server.kill()
        server.wait(10)


def test_a_guess_that_needs_a_long_fit_runs_as_a_job_and_its_page_shows_the_answer(
    make_app, fake_x, redis_url, redis_db, two_senators, tmp_path
):
    """With Redis, a first guess over more than BACKGROUND_FIT_POSTS posts is fitted by a worker: the page
    shows the progress, then the verdict; the API answers 202, then the job's JSON holds the answer. The
    worker's model is shared, so the next guess is answered at once, in the request."""
    app = make_app(
        X_API_URL=fake_x.url,
        REDIS_URL=redis_url,
        BACKGROUND_FIT_POSTS=100,
        MODEL_STORE_MB=64,
        MODEL_STORE_FOLDER=str(tmp_path / "models"),
    )
    client = app.test_client()
    text = "Billionaires should pay their fair share in taxes"
    page = client.post("/predict", data={"accounts": list(two_senators), "text": text})
    assert page.status_code == 303 and "/jobs/predict-" in page.headers["Location"]
    waiting = client.get(page.headers["Location"])
    assert waiting.status_code == 200 and b"posts for your guess" in waiting.data
    api = client.post("/api/predict", json={"accounts": list(two_senators), "texts": [text, "Florida"]})
    assert api.status_code == 202 and api.json["job"]["prediction"] is None

    run_queued(app)
    answered = client.get(page.headers["Location"]).get_data(as_text=True)
    assert 'id="verdict"' in answered and "Most likely" in answered and ">Billionaires</mark>" in answered
    job = client.get(api.headers["Location"]).json["job"]
    assert job["status"] == "finished" and job["prediction"]["posts"] == 2
    assert job["prediction"]["author"] in two_senators

    warm = client.post("/api/predict", json={"accounts": list(two_senators), "text": "Thank you"})
    assert warm.status_code == 200 and warm.json["model"]["cached"] is True


def test_a_guess_over_few_posts_is_answered_in_the_request_even_with_redis(qapp, qclient, two_senators):
    response = qclient.post("/api/predict", json={"accounts": list(two_senators), "text": "Florida"})
    assert response.status_code == 200 and response.json["model"]["source"] == "fitted"
    assert list(redis_db_jobs(qapp)) == []


def redis_db_jobs(app):
    with app.app_context():
        return jobs.queue().job_ids
