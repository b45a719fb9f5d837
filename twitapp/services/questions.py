"""What a guess is asked about: one post, or several posts taken to share one author (typed one per
paragraph, read from a small file, or a stored account's own posts), checked before any model is fitted."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from sqlalchemy import select

from ..exceptions import AccountNotFound, InvalidInput, StaleEmbeddings
from ..extensions import DbSession
from ..formatting import is_blank
from ..models import Account, Tweet
from ..sources.handles import parse_handle
from .accounts import find_account
from .text_limits import TextLimit

MIN_POSTS = 2  # a set of posts: fewer is one post, asked as such
MAX_POSTS = 200  # posts of one author in one question (an unknown account: its newest this many)
MAX_FILE_KB = 512  # a file of posts: 200 posts of 500 characters of 4-byte UTF-8, with room for CSV quoting
PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v\u00a0\u2028\u2029]*\n")


@dataclass(frozen=True)
class Question:
    """The posts whose author is asked, with their stored embeddings when they come from a stored account
    (``unknown``: that account, never one of its own candidates)."""

    texts: tuple[str, ...]
    vectors: np.ndarray | None = field(default=None, compare=False)
    unknown: Account | None = field(default=None, compare=False)

    @property
    def posts(self) -> int:
        return len(self.texts)


def post_text(raw: object, max_length: int, number: int | None = None) -> str:
    """One post, stripped, or InvalidInput (not a text, nothing visible, a NUL, longer than ``max_length``);
    ``number`` names it among several."""
    where = f"Post {number}: " if number else ""
    if not isinstance(raw, str):
        raise InvalidInput(f"{where}a post must be a string.")
    text = raw.strip()
    if not text:
        raise InvalidInput(f"{where}it is empty." if number else "Type the post whose author you want to guess.")
    if "\x00" in text:
        raise InvalidInput(f"{where}the text contains a null character; remove it and try again.")
    if is_blank(text):
        raise InvalidInput(f"{where}the text has only invisible characters (zero-width spaces, direction marks).")
    if len(text) > max_length:
        if number:
            raise InvalidInput(f"{where}a post has at most {max_length} characters here; this one has {len(text)}.")
        raise InvalidInput(f"A tweet has at most {max_length} characters; this text has {len(text)}.")
    return text


def one_post(raw: object, max_length: int) -> Question:
    return Question((post_text(raw, max_length),))


def several_posts(raw: object, max_length: int) -> Question:
    """2 to ``MAX_POSTS`` posts given as a list, each checked as a post (its number in any message)."""
    if not isinstance(raw, (list, tuple)):
        raise InvalidInput("'texts' must be a list of posts.")
    if not MIN_POSTS <= len(raw) <= MAX_POSTS:
        raise InvalidInput(f"Give {MIN_POSTS} to {MAX_POSTS} posts of one author; {len(raw)} were given.")
    return Question(tuple(post_text(text, max_length, i) for i, text in enumerate(raw, 1)))


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a pasted text (split at blank lines), the empty ones left out."""
    return [part.strip() for part in PARAGRAPH_BREAK.split(text.replace("\r\n", "\n")) if part.strip()]


def pasted_posts(text: str, max_length: int) -> Question:
    """Posts pasted one per paragraph; a single paragraph is one post."""
    parts = paragraphs(text or "")
    if len(parts) > MAX_POSTS:
        raise InvalidInput(f"Paste at most {MAX_POSTS} posts (one per paragraph); this text has {len(parts)}.")
    if len(parts) < MIN_POSTS:
        return one_post(text, max_length)
    return several_posts(parts, max_length)


def file_posts(stream: BinaryIO, filename: str, max_length: int) -> Question:
    """Posts of one author from a small UTF-8 file: a CSV file with a ``text`` column (``.csv``), or plain
    text with one post per paragraph (one per line when it has no blank line)."""
    data = stream.read(MAX_FILE_KB * 1024 + 1)
    if len(data) > MAX_FILE_KB * 1024:
        raise InvalidInput(f"A file of posts has at most {MAX_FILE_KB} KB; import a bigger one as an account instead.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text; save it as UTF-8 (plain text or CSV) and try again.") from None
    if "\x00" in text:
        raise InvalidInput("The file contains null characters: it is not a text file.")
    posts = _csv_posts(text) if filename.lower().endswith(".csv") else _text_posts(text)
    if not posts:
        raise InvalidInput("The file holds no post.")
    if len(posts) > MAX_POSTS:
        raise InvalidInput(f"A file of posts holds at most {MAX_POSTS} posts; this one has {len(posts)}.")
    return several_posts(posts, max_length) if len(posts) > 1 else one_post(posts[0], max_length)


def stored_posts(session: DbSession, handle: object, embedding_model: str) -> Question:
    """The newest ``MAX_POSTS`` posts of a stored account and their stored embeddings (which must come from
    ``embedding_model``). The prediction refuses it as one of its own candidates."""
    if not isinstance(handle, str):
        raise InvalidInput("'unknown' must be the handle of a stored account.")
    name = parse_handle(handle)
    account = find_account(session, name)
    if account is None:
        raise AccountNotFound(f"{name} is not stored here; import its posts first.")
    rows = session.execute(
        select(Tweet.text, Tweet.embedding, Tweet.embedding_model)
        .where(Tweet.account_id == account.id)
        .order_by(Tweet.created_at.desc(), Tweet.id.desc())
        .limit(MAX_POSTS)
    ).all()
    if not rows:
        raise InvalidInput(f"@{account.username} has no stored posts to compare.")
    stale = {row.embedding_model for row in rows} - {embedding_model}
    if stale:
        raise StaleEmbeddings(
            f"Posts of @{account.username} were embedded with {sorted(stale)[0]}, but this app now embeds with "
            f"{embedding_model}: the two cannot be compared. Embed them again with: flask accounts reembed"
        )
    vectors = np.vstack([np.frombuffer(row.embedding, dtype=np.float32) for row in rows])
    return Question(tuple(row.text for row in rows), vectors, account)


def as_params(question: Question) -> dict:
    """The question as a background job's parameters (plain data: an unknown account by its handle)."""
    if question.unknown is not None:
        return {"texts": None, "unknown": question.unknown.username}
    return {"texts": list(question.texts), "unknown": None}


def from_json(body: dict, session: DbSession, embedding_model: str, limit: TextLimit) -> Question:
    """The question of an API request: exactly one of ``text`` (a post), ``texts`` (2 to ``MAX_POSTS``
    posts of one author) or ``unknown`` (a stored account's handle); its posts within ``limit``."""
    given = [key for key in ("text", "texts", "unknown") if key in body]
    if len(given) != 1:
        raise InvalidInput(
            f"Send exactly one of 'text' (a post), 'texts' (a list of {MIN_POSTS} to {MAX_POSTS} posts of one "
            "author) or 'unknown' (the handle of a stored account)"
            + (f"; this body has {' and '.join(repr(k) for k in given)}." if given else ".")
        )
    if "text" in body:
        if not isinstance(body["text"], str):
            raise InvalidInput("'text' must be a string.")
        return _within(limit, one_post(body["text"], limit.max_chars))
    if "texts" in body:
        return _within(limit, several_posts(body["texts"], limit.max_chars))
    return stored_posts(session, body["unknown"], embedding_model)


def from_form(
    text: str | None,
    pasted: str | None,
    upload: tuple[BinaryIO, str] | None,
    unknown: str | None,
    session: DbSession,
    embedding_model: str,
    limit: TextLimit,
) -> Question:
    """The question of the guess form: a post, several pasted one per paragraph, a file of posts (its
    stream and name) or a stored account's handle; exactly one of them, its posts within ``limit``."""
    given = [
        what
        for what, value in (
            ("a tweet", (text or "").strip()),
            ("several posts", (pasted or "").strip()),
            ("a file", upload),
            ("a stored account", unknown),
        )
        if value
    ]
    if len(given) > 1:
        raise InvalidInput(f"Give one thing to attribute: this form had {' and '.join(given)}. Clear all but one.")
    if upload:
        return _within(limit, file_posts(*upload, limit.max_chars))
    if unknown:
        return stored_posts(session, unknown, embedding_model)
    if (pasted or "").strip():
        return _within(limit, pasted_posts(pasted or "", limit.max_chars))
    if not (text or "").strip():
        raise InvalidInput(
            "Type the tweet whose author you want to guess, or give several posts (pasted, in a file, or a stored "
            "account's)."
        )
    return _within(limit, one_post(text, limit.max_chars))


def _within(limit: TextLimit, question: Question) -> Question:
    """``question`` once its posts are within ``limit`` as their platform counts (graphemes for Bluesky)."""
    limit.check(question.texts)
    return question


def _text_posts(text: str) -> list[str]:
    parts = paragraphs(text)
    if len(parts) == 1:
        parts = [line.strip() for line in parts[0].splitlines() if line.strip()]
    return parts


def _csv_posts(text: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        columns = [name.strip().lower() for name in header]
        if "text" not in columns:
            shown = ", ".join(name[:30] for name in header[:10])
            raise InvalidInput(f"The CSV file needs a 'text' column; its columns are: {shown}.")
        column = columns.index("text")
        posts = []
        for row in reader:
            if column < len(row) and row[column].strip():
                posts.append(row[column])
            if len(posts) > MAX_POSTS:
                break
        return posts
    except csv.Error as exc:
        raise InvalidInput(f"The CSV file cannot be read: {exc}.") from None
