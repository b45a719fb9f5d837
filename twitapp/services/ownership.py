"""Who may write which stored account: the rule every store of posts goes through (``ingest.store``).

* An X fetch writes only accounts read from X: an upload's posts never mix with X's, whatever its handle.
* An import (archive, CSV, demo) creates new accounts; adding to a stored one needs the admin password,
  and never reaches an account read from X.
* An archive is matched by the X id its ``account.js`` carries (its key ``archive:<id>``), never by
  handle alone: it cannot rename, move or merge into another account.

Refusals are ``AccountConflict`` (409) saying what is stored and what to do; the caller stores nothing.
"""

from __future__ import annotations

from ..exceptions import AccountConflict
from ..extensions import DbSession
from ..models import Account
from .accounts import find_account

SOURCE_NAMES = {"api": "the X API", "archive": "an X archive", "csv": "a CSV file", "demo": "the demo set"}
ADMIN_NEEDED = "Adding posts to a stored account needs the admin password; nothing was imported."


def writable_account(session: DbSession, key: str, username: str, source: str, may_update: bool) -> Account | None:
    """The stored account that data of ``source`` for the account ``key`` (@``username``) may write into,
    or None where it is a new account to create.

    ``may_update`` is the admin's permission to add to an existing imported account; an X fetch needs
    none to update an account read from X."""
    by_key = session.get(Account, key)
    by_name = find_account(session, username)
    if source == "api":
        return _x_target(by_key, by_name)
    return _import_target(by_key, by_name, key, source, may_update)


def _x_target(by_key: Account | None, by_name: Account | None) -> Account | None:
    if by_name is not None and by_name is not by_key:
        if by_name.source != "api":
            raise AccountConflict(
                f"@{by_name.username} is stored here from {_source(by_name)}, not from X, and X fetches write "
                f"only accounts added from X. An admin can delete the stored @{by_name.username}, then add it from X."
            )
        raise AccountConflict(
            f"@{by_name.username} is stored here for another X account (X id {by_name.id}): X has given the "
            "handle to someone else since. An admin can delete the stored one, then add this one."
        )
    return by_key


def _import_target(
    by_key: Account | None, by_name: Account | None, key: str, source: str, may_update: bool
) -> Account | None:
    if by_key is not None and by_name is not None and by_key is not by_name:
        raise AccountConflict(
            f"This file's account is stored here as @{by_key.username}, and @{by_name.username} is another "
            "stored account: an import never renames or merges accounts. Nothing was imported."
        )
    target = by_key or by_name
    if target is None:
        return None
    if target.source == "api":
        raise AccountConflict(
            f"@{target.username} was added from X: its posts come only from the X API (update it there). "
            "Nothing was imported."
        )
    if source == "archive" and key.startswith("archive:") and target is not by_key:
        raise AccountConflict(
            f"@{target.username} is stored here from {_source(target)}, and this archive belongs to another "
            f"account (X id {key.removeprefix('archive:')}): an archive adds only to the account whose "
            "X id it carries. Nothing was imported."
        )
    if not may_update:
        raise AccountConflict(f"@{target.username} is already stored (from {_source(target)}). {ADMIN_NEEDED}")
    return target


def _source(account: Account) -> str:
    return SOURCE_NAMES.get(account.source, account.source)
