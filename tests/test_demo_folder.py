"""`flask demo --from DIR`: the six demo files read from a local folder, verified as a download is, and the
download error that names the ways out (``--from``, ``--base-url``, ``DEMO_BASE_URL``)."""

from __future__ import annotations

import hashlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from twitapp.exceptions import DownloadFailed, ImportFailed
from twitapp.extensions import db
from twitapp.models import Account, Tweet
from twitapp.sources import DEMO_HANDLES, DEMO_SHA256, fetch_demo
from twitapp.sources import demo as demo_module
from twitapp.sources.demo import read_demo_folder

DEMO_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "senate117-demo-source"
WAYS_OUT = ("--from", "--base-url", "DEMO_BASE_URL")


def tiny_demo_file(handle: str) -> bytes:
    """Three tweets in the demo files' own shape: a BOM, ``Datetime,Text``, HTML entities."""
    rows = [f"2022-0{month}-01 12:00:00+00:00,{handle} on farms &amp; jobs, note {month}" for month in (1, 2, 3)]
    return ("\ufeffDatetime,Text\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A folder with six tiny demo files and their SHA256SUMS; the pinned digests are those of these files."""
    directory = tmp_path / "demo"
    directory.mkdir()
    digests = {}
    for handle in DEMO_HANDLES:
        content = tiny_demo_file(handle)
        (directory / f"{handle}.csv").write_bytes(content)
        digests[handle] = hashlib.sha256(content).hexdigest()
    write_sums(directory, digests)
    monkeypatch.setattr(demo_module, "DEMO_SHA256", digests)
    return directory


def write_sums(directory: Path, digests: dict[str, str]) -> None:
    (directory / "SHA256SUMS").write_text("".join(f"{digests[h]}  {h}.csv\n" for h in DEMO_HANDLES))


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return db.session.scalar(select(func.count(Account.id))), db.session.scalar(select(func.count(Tweet.id)))


def test_demo_from_a_folder_imports_the_six_accounts(runner, app, folder):
    result = runner.invoke(args=["demo", "--from", str(folder)])

    assert result.exit_code == 0, result.output
    assert "Imported 6 accounts" in result.output
    with app.app_context():
        assert set(db.session.scalars(select(Account.source))) == {"demo"}
        assert set(db.session.scalars(select(Account.username))) == set(DEMO_HANDLES)
        assert db.session.scalar(select(func.count(Tweet.id))) == 18
        assert "farms & jobs" in db.session.scalars(select(Tweet.text)).first()


def test_demo_from_a_folder_runs_inline_even_with_redis_configured(make_app, folder):
    """A job worker may be another machine, so the folder is read and imported by the command itself: with
    REDIS_URL at a closed port, any use of the queue would fail."""
    app = make_app(REDIS_URL="redis://127.0.0.1:9/0")
    result = app.test_cli_runner().invoke(args=["demo", "--from", str(folder)])

    assert result.exit_code == 0, result.output
    assert counts(app) == (6, 18)


@pytest.mark.skipif(not DEMO_SOURCE.is_dir(), reason=f"shared data not present at {DEMO_SOURCE}")
def test_the_shared_demo_folder_passes_the_pinned_checksums():
    seen = []
    accounts = read_demo_folder(DEMO_SOURCE, progress=seen.append)

    assert seen == list(DEMO_HANDLES)
    assert [a.username for a in accounts] == list(DEMO_HANDLES)
    assert {a.source for a in accounts} == {"demo"}
    assert sum(len(a.tweets) for a in accounts) == 12_634
    assert set(DEMO_SHA256.values()) == {
        line.split()[0] for line in (DEMO_SOURCE / "SHA256SUMS").read_text().splitlines()
    }


def test_a_file_that_does_not_match_its_checksum_is_refused_and_nothing_stored(runner, app, folder):
    path = folder / "HawleyMO.csv"
    path.write_bytes(path.read_bytes().replace(b"note 2", b"note 9"))

    result = runner.invoke(args=["demo", "--from", str(folder)])

    assert result.exit_code == 1
    assert "HawleyMO.csv does not match its expected SHA-256" in result.output
    assert counts(app) == (0, 0)


def test_sha256sums_listing_another_digest_is_refused_and_nothing_stored(runner, app, folder):
    digests = dict(demo_module.DEMO_SHA256, SenBooker="0" * 64)
    write_sums(folder, digests)

    result = runner.invoke(args=["demo", "--from", str(folder)])

    assert result.exit_code == 1
    assert "SHA256SUMS does not list the pinned SHA-256 of SenBooker.csv" in result.output
    assert counts(app) == (0, 0)


def test_a_missing_file_is_refused_with_its_name(runner, app, folder):
    (folder / "ChuckGrassley.csv").unlink()

    result = runner.invoke(args=["demo", "--from", str(folder)])

    assert result.exit_code == 1
    assert "has no ChuckGrassley.csv" in result.output and "six demo files" in result.output
    assert counts(app) == (0, 0)


def test_a_folder_without_sha256sums_is_refused(folder):
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(ImportFailed, match="has no SHA256SUMS"):
        read_demo_folder(folder)


def test_from_and_base_url_together_are_a_usage_error(runner, folder):
    result = runner.invoke(args=["demo", "--from", str(folder), "--base-url", "http://127.0.0.1:9/Data"])
    assert result.exit_code == 2 and "not both" in result.output


def closed_port() -> int:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as server:
        return server.server_address[1]  # bound then closed: nothing listens there


def test_the_download_error_names_the_ways_out():
    with pytest.raises(DownloadFailed) as raised:
        fetch_demo(f"http://127.0.0.1:{closed_port()}/Data", timeout=5)
    assert "Could not download SenWarren.csv" in raised.value.message
    assert all(way in raised.value.message for way in WAYS_OUT)


def test_the_cli_download_error_names_the_ways_out(runner, app):
    result = runner.invoke(args=["demo", "--base-url", f"http://127.0.0.1:{closed_port()}/Data"])

    assert result.exit_code == 1
    assert all(way in result.output for way in WAYS_OUT), result.output
    assert counts(app) == (0, 0)
