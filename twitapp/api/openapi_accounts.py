"""The OpenAPI parts of ``GET /api/accounts``: one page of the stored accounts, searched by handle or name.
A caller passing nothing gets the first page of up to 100 (the same ``accounts`` list as before paging)."""

from __future__ import annotations

from typing import Any

from ..services.account_search import MAX_PER_PAGE, MAX_QUERY

ACCOUNT_LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["accounts", "total", "page", "pages", "per_page", "q"],
    "properties": {
        "accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}},
        "total": {"type": "integer", "description": "accounts matching q (all stored accounts without it)"},
        "page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1, "description": "pages of matching accounts (1 when none)"},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "q": {"type": "string", "description": "the search, trimmed and without a leading @"},
    },
}

PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "part of a handle or display name, case-insensitive; % and _ are plain characters",
        "schema": {"type": "string", "maxLength": MAX_QUERY},
    },
    {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "from 1 (the default) to the answer's pages; other values: 400",
        "schema": {"type": "integer", "minimum": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "required": False,
        "description": f"accounts per page, 1 to {MAX_PER_PAGE} (the default)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
    },
]


def list_accounts_operation(ok: dict[str, Any], bad: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """The ``GET`` operation, given its 200 answer, its 400 answer and the answers every operation shares."""
    return {
        "operationId": "listAccounts",
        "summary": "A page of the stored accounts, by handle, optionally searched",
        "parameters": PARAMETERS,
        "responses": {"200": ok, "400": bad, **common},
    }
