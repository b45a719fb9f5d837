"""Which reader an uploaded file needs, told by its content first and its name second: a zip holding
``outbox.json`` is a Mastodon archive, any other zip X's; a file starting as a CAR does is a Bluesky
repository export; then ``.js`` is X's tweets.js and ``.csv``/``.gz``/``.txt`` a CSV file."""

from __future__ import annotations

from typing import BinaryIO

from ..exceptions import ImportFailed
from .car import looks_like_car
from .mastodon_archive import is_mastodon_archive
from .records import peek
from .zipsafe import member_names

#: The kinds of file an import reads: X's archive, Mastodon's archive, Bluesky's repository, a CSV file.
KINDS = ("archive", "mastodon", "bluesky", "csv")
CSV_SUFFIXES = (".csv", ".csv.gz", ".gz", ".txt")
UNKNOWN = (
    "{filename} is none of the files this app imports: an X archive (.zip, or its tweets.js), a Mastodon "
    "archive (.zip with outbox.json), a Bluesky repository export (.car) or a CSV file (.csv, .csv.gz)."
)
_AS_GIVEN = "upload the archive exactly as its platform gave it to you."


def upload_kind(stream: BinaryIO, filename: str, kind: str | None = None) -> str:
    """One of KINDS for the seekable ``stream`` (left where it was). ``kind`` "csv" is taken as said;
    "archive" means an archive of any platform (the content says which); None, any file."""
    if kind == "csv":
        return "csv"
    name = (filename or "upload").lower()
    head = peek(stream, 128)
    if head.startswith(b"PK"):
        return "mastodon" if is_mastodon_archive(member_names(stream, filename, _AS_GIVEN)) else "archive"
    if looks_like_car(head):
        return "bluesky"
    if name.endswith(".car"):
        raise ImportFailed(
            f"{filename} is not a Bluesky repository export: it does not start as a CAR file does (it may be "
            "damaged, or another kind of file renamed)."
        )
    if kind == "archive" or name.endswith((".zip", ".js")):
        return "archive"  # (X's reader says what is wrong with it)
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    raise ImportFailed(UNKNOWN.format(filename=filename))
