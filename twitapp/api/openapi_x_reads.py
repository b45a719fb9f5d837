"""The OpenAPI parts of ``GET /api/x-reads``: what an add or update from X may read and cost, and the day's
cap on posts read from X (X_MAX_READS_PER_DAY). Over a 429 past that cap, Retry-After says when it resets
(midnight UTC); the refusal comes before any read from X."""

from __future__ import annotations

from typing import Any

NULLABLE_INT = {"type": "integer", "nullable": True}

X_READS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["reads_at_most", "price_per_post_usd", "cost_at_most_usd", "price_as_of", "message"]
    + ["cap_per_day", "read_today", "resets_at"],
    "properties": {
        "reads_at_most": {"type": "integer", "description": "posts one add or update from X may read"},
        "price_per_post_usd": {"type": "number", "description": "X's pay-per-use price of a post read"},
        "cost_at_most_usd": {"type": "number"},
        "price_as_of": {"type": "string", "description": "the year of that price"},
        "message": {"type": "string"},
        "cap_per_day": {**NULLABLE_INT, "description": "X_MAX_READS_PER_DAY (null: no cap)"},
        "read_today": {"type": "integer", "description": "posts read from X since midnight UTC"},
        "resets_at": {"type": "string", "description": "the next midnight UTC"},
    },
}


def x_reads_operation(ok: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """The ``GET`` operation, given its 200 answer and the answers every operation shares."""
    return {
        "operationId": "xReads",
        "summary": "What an add or update from X may read and cost, before POST /api/accounts",
        "responses": {"200": ok, **common},
    }
