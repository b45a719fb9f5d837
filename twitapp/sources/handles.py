"""The one rule for X handles, shared by the X client, the file readers and the pages."""

from __future__ import annotations

import re

from ..exceptions import InvalidHandle

HANDLE_RE = re.compile(r"[A-Za-z0-9_]{1,15}")


def validate_handle(raw: object) -> str:
    """Return the handle without whitespace and a leading ``@``, or raise ``InvalidHandle``.

    Called before any request to X, so a bad handle never costs an API call.
    """
    typed = raw.strip() if isinstance(raw, str) else ""
    handle = typed.removeprefix("@")
    if not handle:
        raise InvalidHandle("Enter an X username, like @SenWarren.")
    if not HANDLE_RE.fullmatch(handle):
        raise InvalidHandle(
            f"“{typed[:40]}” is not a valid X username: use 1 to 15 letters, digits or underscores, like @SenWarren."
        )
    return handle
