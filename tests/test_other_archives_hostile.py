"""Damaged and hostile Mastodon archives and Bluesky repositories: each refused with a message that says
what is wrong, a 400 or 413 on the page and the API, and nothing stored."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from twitapp.exceptions import ImportFailed
from twitapp.services.file_import import read_upload
from twitapp.sources import zipsafe
from twitapp.sources.records import merged

from .helpers import ADMIN, counts
from .other_archive_factory import (
    Link,
    actor_json,
    bluesky_post,
    bluesky_profile,
    build_bluesky_repo,
    build_mastodon_archive,
    car_file,
    cbor,
    cid_of,
    mastodon_note,
    outbox_json,
    varint,
)

WHEN = datetime(2024, 3, 1, 12, tzinfo=UTC)
DID = "did:plc:bobbobbobbobbobbobbobbob"
BOB = "bob.bsky.social"
MB = 1024 * 1024


def mastodon(outbox: bytes | None = None, extra: dict | None = None) -> bytes:
    return build_mastodon_archive("alice", "mastodon.example", [mastodon_note("1", "<p>hi</p>", WHEN)], outbox, extra)


def outbox(items) -> bytes:
    return json.dumps({"type": "OrderedCollection", "orderedItems": items}).encode()


def many_files(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("outbox.json", outbox_json([mastodon_note("1", "<p>hi</p>", WHEN)]))
        archive.writestr("actor.json", actor_json("alice", "mastodon.example"))
        for i in range(count):
            archive.writestr(f"media_attachments/{i}.jpg", b"")
    return buffer.getvalue()


def car_header() -> bytes:
    head = cbor({"version": 1, "roots": [Link(cid_of(b"x"))]})
    return varint(len(head)) + head


def a_repo(*records) -> bytes:
    return build_bluesky_repo(DID, list(records) or [bluesky_post("3kaaaaaaaa001", "hello", WHEN)])


def nested_record_repo(depth: int) -> bytes:
    """A repository whose one post record is ``depth`` arrays nested (hand-framed: the builder's records
    are dicts)."""
    record = b"\x81" * depth + b"\x01"
    node = cbor(
        {"l": None, "e": [{"p": 0, "k": b"app.bsky.feed.post/3kaaaaaaaa001", "v": Link(cid_of(record)), "t": None}]}
    )
    commit = cbor({"did": DID, "version": 3, "data": Link(cid_of(node)), "rev": "3k", "prev": None, "sig": b"s"})
    return car_file(cid_of(commit), [commit, node, record])


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


CASES = {
    # Mastodon archives
    "mastodon: too large once unpacked": (
        lambda: mastodon(outbox=b" " * (5 * MB)),
        "archive.zip",
        413,
        "larger than the limit of 4 MB",
    ),
    "mastodon: too many files": (lambda: many_files(40), "archive.zip", 400, "more than 30 files"),
    "mastodon: a path out of the archive": (
        lambda: mastodon(extra={"../../etc/cron.d/x": b"x"}),
        "archive.zip",
        400,
        "points outside it",
    ),
    "mastodon: an absolute path": (
        lambda: mastodon(extra={"/etc/passwd": b"x"}),
        "archive.zip",
        400,
        "points outside it",
    ),
    "mastodon: outbox.json not JSON": (
        lambda: mastodon(outbox=b"<html>not json</html>"),
        "archive.zip",
        400,
        "not an ActivityStreams collection",
    ),
    "mastodon: outbox.json cut short": (
        lambda: mastodon(outbox=outbox_json([mastodon_note("1", "<p>hi</p>", WHEN)])[:-30]),
        "archive.zip",
        400,
        "not valid JSON",
    ),
    "mastodon: outbox of another type": (
        lambda: mastodon(outbox=b'{"type": "Person", "orderedItems": []}'),
        "archive.zip",
        400,
        "not a Mastodon outbox",
    ),
    "mastodon: items not a list": (
        lambda: mastodon(outbox=b'{"type": "OrderedCollection", "orderedItems": {"a": 1}}'),
        "archive.zip",
        400,
        "orderedItems of outbox.json is not a list",
    ),
    "mastodon: no items": (
        lambda: mastodon(outbox=b'{"type": "OrderedCollection"}'),
        "archive.zip",
        400,
        "lists no activities",
    ),
    "mastodon: an activity not an object": (
        lambda: mastodon(outbox=outbox(["Create"])),
        "archive.zip",
        400,
        "Activity 1 of outbox.json is not an activity",
    ),
    "mastodon: deeply nested JSON": (
        lambda: mastodon(outbox=b'{"orderedItems": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"),
        "archive.zip",
        400,
        "nested too deeply",
    ),
    "mastodon: a Note of 1 MB": (
        lambda: mastodon(outbox=outbox([mastodon_note("1", "<p>" + "a" * MB + "</p>", WHEN)])),
        "archive.zip",
        400,
        "is longer than 1,048,576 characters",
    ),
    "mastodon: a Note of 200,000 characters": (
        lambda: mastodon(outbox=outbox([mastodon_note("1", "<p>" + "a" * 200_000 + "</p>", WHEN)])),
        "archive.zip",
        400,
        "the most allowed is 100,000",
    ),
    "mastodon: a post without a date": (
        lambda: mastodon(
            outbox=outbox(
                [
                    {
                        **mastodon_note("1", "hi", WHEN),
                        "published": None,
                        "object": {**mastodon_note("1", "hi", WHEN)["object"], "published": None},
                    }
                ]
            )
        ),
        "archive.zip",
        400,
        "has no date (published)",
    ),
    "mastodon: no public post": (
        lambda: mastodon(outbox=outbox([mastodon_note("1", "<p>hi</p>", WHEN, visibility="private")])),
        "archive.zip",
        400,
        "no original posts",
    ),
    "mastodon: no actor.json": (lambda: zip_of({"outbox.json": outbox_json([])}), "archive.zip", 400, "no actor.json"),
    "mastodon: a damaged zip": (lambda: mastodon()[:-100], "archive.zip", 400, "damaged or incomplete zip"),
    # Bluesky repositories
    "bluesky: cut short mid-block": (lambda: a_repo()[:-10], "repo.car", 400, "is cut short: block"),
    "bluesky: a bad varint": (lambda: car_header() + b"\xff" * 12, "repo.car", 400, "not a valid varint"),
    "bluesky: a varint cut short": (lambda: car_header() + b"\xff\xff", "repo.car", 400, "is cut short"),
    "bluesky: a block claiming a huge length": (
        lambda: car_header() + varint(1 << 40) + b"x" * 50,
        "repo.car",
        400,
        "claims 1,099,511,627,776 bytes",
    ),
    "bluesky: a block altered": (lambda: flip_last_byte(a_repo()), "repo.car", 400, "do not match its CID"),
    "bluesky: no posts": (
        lambda: a_repo(bluesky_profile("Bob")),
        "repo.car",
        400,
        "no original posts (no posts at all)",
    ),
    "bluesky: not a CAR but named .car": (
        lambda: b"PNG\x00 certainly not a CAR file",
        "repo.car",
        400,
        "not a Bluesky repository export",
    ),
    "bluesky: a zip named .car": (lambda: zip_of({"a.txt": b"x"}), "repo.car", 400, "no data/tweets.js"),
    "bluesky: deeply nested CBOR": (lambda: nested_record_repo(100_000), "repo.car", 400, "nested too deeply"),
    "bluesky: a header of another version": (
        lambda: varint(len(h := cbor({"version": 2, "roots": []}))) + h,
        "repo.car",
        400,
        "of another version",
    ),
    "bluesky: a block missing": (lambda: drop_block(a_repo(), 2), "repo.car", 400, "is incomplete"),
    "bluesky: a root that is no commit": (
        lambda: car_file(cid_of(b := cbor({"a": 1})), [b]),
        "repo.car",
        400,
        "not a commit naming a DID",
    ),
}


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def drop_block(car: bytes, index: int) -> bytes:
    """The CAR without its ``index``-th block (0 is the commit)."""
    from twitapp.sources.car import read_car

    framed = read_car(car, "x.car")
    spans = sorted(framed.blocks.items(), key=lambda item: item[1])
    cid, (start, end) = spans[index]
    framing = varint(len(cid) + end - start)
    begin = start - len(cid) - len(framing)
    return car[:begin] + car[end:]


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(zipsafe, "MAX_ZIP_ENTRIES", 30)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_reader_refuses_with_a_message_that_says_why(case, small_limits):
    build, filename, status, words = CASES[case]
    with pytest.raises(ImportFailed) as info:
        merged(read_upload(io.BytesIO(build()), filename, BOB if filename.endswith(".car") else None, 4 * MB))
    assert words in info.value.message and info.value.status == status


@pytest.mark.parametrize("route", ["/import", "/api/imports"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_page_and_the_api_refuse_with_a_fitting_status_and_store_nothing(
    make_app, fake_x, small_limits, case, route
):
    build, filename, status, words = CASES[case]
    app = make_app(X_API_URL=fake_x.url, MAX_IMPORT_UNCOMPRESSED_MB=4)
    form = {"file": (io.BytesIO(build()), filename), "account": BOB if filename.endswith(".car") else ""}
    headers = {"X-Admin-Password": ADMIN} if route.startswith("/api") else {}
    if not route.startswith("/api"):
        form["admin_password"] = ADMIN
    response = app.test_client().post(route, data=form, content_type="multipart/form-data", headers=headers)
    assert response.status_code == status
    shown = response.get_json()["error"] if route.startswith("/api") else response.get_data(as_text=True)
    assert words.replace("'", "&#39;") in shown if not route.startswith("/api") else words in shown
    assert counts(app) == (0, 0)


def test_a_zip_understating_its_file_count_is_refused(small_limits):
    data = bytearray(many_files(40))
    at = data.rfind(b"PK\x05\x06")
    data[at + 8 : at + 12] = (5).to_bytes(2, "little") * 2  # the end record claims 5 files
    with pytest.raises(ImportFailed, match="more than 30 files"):
        merged(read_upload(io.BytesIO(bytes(data)), "archive.zip", None, MB))


def test_a_mastodon_zip_understating_its_size_is_refused():
    """Headers claiming 100 bytes for a 5 MB outbox.json pass the declared-size check, and are refused
    while it is read (zipfile's CRC check, and the reader's count of the bytes really read)."""
    content = b'{"type": "OrderedCollection", "orderedItems": [' + b" " * 5_000_000 + b"]}"
    data = bytearray(zip_of({"outbox.json": content, "actor.json": actor_json("alice", "mastodon.example")}))
    real = len(content).to_bytes(4, "little")
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + offset
        assert data[at : at + 4] == real
        data[at : at + 4] = (100).to_bytes(4, "little")
    with pytest.raises(ImportFailed, match=r"outbox\.json in archive\.zip cannot be read|larger than the limit"):
        merged(read_upload(io.BytesIO(bytes(data)), "archive.zip", None, MB))
