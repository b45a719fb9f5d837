"""Who may write which stored account: the rule every store of posts goes through (``ingest.store``).

* A fetch writes only accounts read from its own platform's servers (X fetches X-read accounts, Bluesky
  fetches Bluesky-read ones): an upload's posts never mix with fetched ones, whatever its handle. Handles
  are matched on the fetch's own platform only (``alice`` on X and ``alice.bsky.social`` are two accounts).
* An import (archive, CSV, demo) creates new accounts; adding to a stored one needs the admin password,
  and never reaches an account read from X.
* An archive is matched by the identity it carries (its key ``archive:<id>``: the X id of ``account.js``,
  the Mastodon actor's URL, the Bluesky repository's DID), never by handle alone: it cannot rename, move or
  merge into another account.

Refusals are ``AccountConflict`` (409) saying what is stored and what to do; the caller stores nothing.
"""

from __future__ import annotations

from ..exceptions import AccountConflict
from ..extensions import DbSession
from ..models import FETCH_SOURCES, Account
from ..sources.handles import PLATFORM_NAMES
from .accounts import find_account

SOURCE_NAMES = {
    "api": "the X API",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "archive": "an X archive",
    "csv": "a CSV file",
    "demo": "the demo set",
}
ARCHIVE_NAMES = {"x": "an X archive", "mastodon": "a Mastodon archive", "bluesky": "a Bluesky repository export"}
ID_NAMES = {"x": "X id", "bluesky": "DID", "mastodon": "key"}
ADMIN_NEEDED = "Adding posts to a stored account needs the admin password; nothing was imported."


def writable_account(
    session: DbSession,
    key: str,
    username: str,
    source: str,
    may_update: bool,
    platform: str = "x",
    also_named: str | None = None,
) -> Account | None:
    """The stored account that data of ``source`` for the account ``key`` (@``username`` on ``platform``)
    may write into, or None where it is a new account to create.

    ``may_update`` is the admin's permission to add to an existing imported account; a fetch needs none
    to update an account read from its own platform. ``also_named`` is another handle of the same account
    (a Bluesky account's DID, which names one imported from its repository without a handle)."""
    by_key = session.get(Account, key)
    by_name = find_account(session, username, platform)
    if by_name is None and also_named:
        by_name = find_account(session, also_named, platform)
    if source in FETCH_SOURCES.values():
        return _fetch_target(by_key, by_name, source, platform)
    fetched = session.get(Account, key.removeprefix("archive:")) if key.startswith("archive:did:") else None
    if fetched is not None and fetched.can_update:  # this repository's account, read from Bluesky
        raise AccountConflict(
            f"This repository's account ({fetched.id}) is stored here as @{fetched.username}, added from Bluesky: "
            "its posts come only from Bluesky (update it there). Nothing was imported."
        )
    return _import_target(by_key, by_name, key, source, may_update)


def _fetch_target(by_key: Account | None, by_name: Account | None, source: str, platform: str) -> Account | None:
    where = PLATFORM_NAMES[platform]
    if by_key is not None and by_key.source != source:  # (keys of different sources never meet; a guard)
        raise AccountConflict(f"The key {by_key.id} is stored here from {_source(by_key)}, not from {where}.")
    if by_name is not None and by_name is not by_key:
        if by_name.source != source:
            raise AccountConflict(
                f"@{by_name.username} is stored here from {_source(by_name)}, not from {where}, and {where} fetches "
                f"write only accounts added from {where}. An admin can delete the stored @{by_name.username}, "
                f"then add it from {where}."
            )
        raise AccountConflict(
            f"@{by_name.username} is stored here for another {where} account ({ID_NAMES[platform]} {by_name.id}): "
            f"{where} has given the handle to someone else since. An admin can delete the stored one, then add "
            "this one."
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
    if target.can_update:
        where = PLATFORM_NAMES[target.platform]
        raise AccountConflict(
            f"@{target.username} was added from {where}: its posts come only from {where} (update it there). "
            "Nothing was imported."
        )
    if source == "archive" and key.startswith("archive:") and target is not by_key:
        owner = f"X id {key.removeprefix('archive:')}" if target.platform == "x" else key.removeprefix("archive:")
        raise AccountConflict(
            f"@{target.username} is stored here from {_source(target)}, and this archive belongs to another "
            f"account ({owner}): an archive adds only to the account it was made of. Nothing was imported."
        )
    if not may_update:
        raise AccountConflict(f"@{target.username} is already stored (from {_source(target)}). {ADMIN_NEEDED}")
    return target


def _source(account: Account) -> str:
    if account.source == "archive":
        return ARCHIVE_NAMES.get(account.platform, SOURCE_NAMES["archive"])
    return SOURCE_NAMES.get(account.source, account.source)
