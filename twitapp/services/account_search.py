"""One page of the stored accounts, searched by handle or name: the home page's account picker and
``GET /api/accounts``. Two statements whatever the number of accounts: one of counts, one of the page."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, case, false, func, or_, select, true

from ..exceptions import InvalidInput
from ..extensions import DbSession
from ..models import FETCH_SOURCES, Account, Tweet
from ..sources.handles import parse_handle
from .accounts import AccountSummary, PageLinks, list_accounts

MAX_QUERY = 100  # characters of a search
MAX_PER_PAGE = 100  # accounts in one page of GET /api/accounts (and its default)
_WHOLE_NUMBER = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class AccountsPage(PageLinks):
    """The accounts matching ``query`` on page ``page`` of ``pages``, and what the home page says of all of
    them (how many are stored, whether one can be updated from its platform, whether one is a demo's)."""

    items: list[AccountSummary]
    query: str
    page: int
    pages: int
    total: int
    per_page: int
    stored: int
    any_updatable: bool
    any_demo: bool

    @property
    def first(self) -> int:
        """The number of this page's first account among the matching ones (0 when none match)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


def clean_query(query: str | None) -> str:
    """A search as typed, trimmed, without a leading ``@``; InvalidInput past MAX_QUERY characters or with a
    null character (which PostgreSQL refuses in any text)."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"A search of the accounts has at most {MAX_QUERY} characters; this one has {len(query):,}.")
    if "\x00" in query:
        raise InvalidInput("A search of the accounts cannot contain a null character.")
    return query.removeprefix("@").strip()


def page_number(value: str | None, what: str = "page") -> int | None:
    """A page number (or size) given as text: None when absent, else a whole number from 1, or InvalidInput."""
    if value is None or value == "":
        return None
    if not _WHOLE_NUMBER.fullmatch(value) or int(value) < 1:
        raise InvalidInput(f"'{what}' must be a whole number from 1; got '{value[:20]}'.")
    return int(value)


def _like(query: str) -> str:
    """A LIKE pattern matching ``query`` anywhere, its ``%``, ``_`` and ``\\`` taken literally."""
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_accounts(
    session: DbSession, query: str | None, page: int | None, per_page: int, clamp: bool = True
) -> AccountsPage:
    """Page ``page`` (from 1; None: the first) of the accounts whose handle or name contains ``query``
    (case-insensitively), by handle. With ``clamp`` a page out of range is the nearest one there is (a
    page link gone stale); without, InvalidInput says which pages there are."""
    query = clean_query(query)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"'per_page' must be from 1 to {MAX_PER_PAGE}; got {per_page}.")
    if query:
        pattern = _like(query)
        matches = or_(
            func.lower(Account.username).like(pattern, escape="\\"),
            func.lower(Account.name).like(pattern, escape="\\"),
        )
    else:
        matches = true()
    updatable = or_(false(), *(and_(Account.platform == p, Account.source == s) for p, s in FETCH_SOURCES.items()))
    counts = select(
        func.coalesce(func.sum(case((matches, 1), else_=0)), 0),
        func.count(),
        func.coalesce(func.max(case((updatable, 1), else_=0)), 0),
        func.coalesce(func.max(case((Account.source == "demo", 1), else_=0)), 0),
    ).select_from(Account)
    total, stored, any_updatable, any_demo = session.execute(counts).one()
    pages = max(1, -(-total // per_page))
    asked = 1 if page is None else page
    if clamp:
        asked = min(max(asked, 1), pages)
    elif not 1 <= asked <= pages:
        found = f"{total:,} stored account{'s' if total != 1 else ''}" + (f" matching '{query}'" if query else "")
        fill = f"fill{'s' if total == 1 else ''} {pages:,} page{'s' if pages != 1 else ''} of {per_page}"
        raise InvalidInput(f"The {found} {fill}; there is no page {asked:,}.")
    order = (func.lower(Account.username), Account.id)
    page_ids = select(Account.id).where(matches).order_by(*order).limit(per_page).offset((asked - 1) * per_page)
    newest = (
        select(func.max(Tweet.created_at)).where(Tweet.account_id == Account.id).correlate(Account).scalar_subquery()
    )
    # the page's ids first, so the newest post's time is looked up for its accounts only
    rows = session.execute(select(Account, newest).where(Account.id.in_(page_ids.scalar_subquery())).order_by(*order))
    items = [AccountSummary(account, account.tweet_count, at) for account, at in rows]
    return AccountsPage(items, query, asked, pages, total, per_page, stored, bool(any_updatable), bool(any_demo))


def chosen_accounts(session: DbSession, handles: list[str], most: int) -> list[AccountSummary]:
    """The stored accounts among a form's chosen ``handles`` (the first ``most`` valid ones; a value that is
    no handle is left out before any query): the picker shows them chosen, whatever page is shown."""
    valid = []
    for handle in dict.fromkeys(handles):
        try:
            parse_handle(handle)
        except InvalidInput:
            continue
        valid.append(handle.strip().removeprefix("@"))
    return list_accounts(session, valid[:most]) if valid else []
