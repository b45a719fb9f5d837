"""Template helpers: cache-busting static URLs, avatar initials, chart styles, highlighted evidence.

Every ``url_for('static', filename=...)`` gets ``?v=<mtime>`` (an ``app_url_defaults`` hook), so static
files can be cached for a year (``SEND_FILE_MAX_AGE_DEFAULT``) and still change the moment they do.
"""

from __future__ import annotations

import os
import re
import zlib

from flask import current_app

from ..security import PICTURE_HOSTS
from ..services import charts
from ..services.x_budget import announcement
from ..sources.handles import PLATFORM_NAMES, TEXT_LIMITS, platform_of
from . import bp
from .highlight import highlight

_versions: dict[str, str] = {}


@bp.app_url_defaults
def static_version(endpoint: str, values: dict) -> None:
    if endpoint != "static" or "filename" not in values or "v" in values:
        return
    filename = values["filename"]
    version = _versions.get(filename) if not current_app.debug else None
    if version is None:
        try:
            version = str(int(os.stat(os.path.join(current_app.static_folder or "", filename)).st_mtime))
        except OSError:
            return
        _versions[filename] = version
    values["v"] = version


#: Words a display name starts with that tell accounts apart no better than "Se" did: left out of initials.
HONORIFICS = frozenset(
    {"senator", "sen", "rep", "representative", "congressman", "congresswoman", "gov", "governor", "mayor"}
    | {"dr", "mr", "mrs", "ms", "mx", "prof", "the", "hon", "us"}
)
AVATAR_HUES = 10  # .avatar-hue-0 ... -9 in style.css (classes: the CSP allows no inline style)


@bp.app_template_filter("initials")
def initials(name: str | None, username: str = "") -> str:
    """Up to two letters for an avatar: the first letters of the name's first and last words (titles such
    as "Senator" left out), else of the handle."""
    words = [w for w in re.findall(r"[^\W\d_]+", name or "") if w.lower() not in HONORIFICS]
    if not words:  # the handle's words, split where its case changes (SenWarren: Sen, Warren)
        parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", username or "")
        words = [w for w in parts if w.lower() not in HONORIFICS] or parts
    if not words:
        return (username or "?")[:1].upper()
    if len(words) == 1:
        return words[0][:2].capitalize() if len(words[0]) > 1 else words[0].upper()
    return (words[0][0] + words[-1][0]).upper()


@bp.app_template_filter("platform_name")
def platform_name(handle: str) -> str:
    """The platform of a stored handle, as people call it ("X", "Bluesky"): its form says which."""
    return PLATFORM_NAMES[platform_of(handle)]


@bp.app_template_filter("platform")
def platform(handle: str) -> str:
    """The platform code of a stored handle ("x", "bluesky", "mastodon"), by the rule the server's text
    limit follows (``text_limits.guess_limit``): the page's counter reads it from each account's box."""
    return platform_of(handle)


@bp.app_template_global("text_limits")
def text_limits() -> dict[str, tuple[int, str]]:
    """Each platform's longest post and its unit, X's being MAX_TWEET_LENGTH: for the page's live counter."""
    return TEXT_LIMITS | {"x": (current_app.config["MAX_TWEET_LENGTH"], "characters")}


@bp.app_template_filter("profile_url")
def profile_url(account) -> str | None:
    """The account's own page on its platform, for an account read from there."""
    if not account.can_update:
        return None
    if account.platform == "bluesky":
        return "https://bsky.app/profile/" + account.username
    if account.platform == "mastodon":
        name, _, instance = account.username.partition("@")
        return f"https://{instance}/@{name}"
    return "https://x.com/" + account.username


@bp.app_template_filter("picture")
def picture(url: str | None) -> str | None:
    """A profile picture's URL when the CSP lets the page show it (``PICTURE_HOSTS``), else None: initials."""
    return url if url and any(url.startswith(host + "/") for host in PICTURE_HOSTS) else None


@bp.app_template_filter("avatar_hue")
def avatar_hue(key: str) -> int:
    """A colour (0 to AVATAR_HUES - 1) of its own for an account, the same on every page and process."""
    return zlib.crc32((key or "").lower().encode()) % AVATAR_HUES


@bp.app_template_filter("percent")
def percent(value: float, digits: int = 0) -> str:
    """A probability as a percentage that never claims certainty: ">99%", "<1%" at the ends."""
    floor = 10**-digits
    shown = value * 100
    if shown < floor:
        return f"<{floor:.{digits}f}%"
    if 100 - floor < shown:
        return f">{100 - floor:.{digits}f}%"
    return f"{shown:.{digits}f}%"


@bp.app_template_global("series_styles")
def series_styles(usernames):
    return charts.styles_for(usernames)


@bp.app_template_global("marker_path")
def marker_path(shape: str, x: float, y: float, r: float) -> str:
    return charts.marker_path(shape, x, y, r)


bp.add_app_template_global(highlight, "highlight")


@bp.app_context_processor
def _x_reads():
    """``x_reads``: what an add or update from X may read, said beside its form and button."""
    return {"x_reads": announcement(current_app.config["TWEETS_PER_ACCOUNT"])}
