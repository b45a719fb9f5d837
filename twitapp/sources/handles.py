"""The rules for handles of every platform, shared by the clients, the file readers and the pages.

One field takes any platform's handle and its form says which: ``name`` or ``@name`` is X (no dot, no
``@`` inside), a domain such as ``name.bsky.social`` is Bluesky (a dot, no ``@`` inside), and
``@name@instance.tld`` or ``name@instance.tld`` is Mastodon. The forms never overlap, so a handle alone
names an account (and its page, ``/accounts/<handle>``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..exceptions import InvalidHandle
from .public_hosts import literal_address

HANDLE_RE = re.compile(r"[A-Za-z0-9_]{1,15}")
# A Bluesky handle is a domain name (the AT Protocol handle syntax): labels of letters, digits and hyphens,
# none starting or ending with a hyphen, at least two, the last not starting with a digit, 253 at most.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
BLUESKY_RE = re.compile(rf"(?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?")
MASTODON_RE = re.compile(rf"([A-Za-z0-9_](?:[A-Za-z0-9_.-]{{0,28}}[A-Za-z0-9_])?)@({BLUESKY_RE.pattern})")
#: A Bluesky account named by its DID (``did:plc:<24 of base32>``, ``did:web:<domain>``), which a
#: repository export carries where it holds no handle.
DID_RE = re.compile(rf"did:(?:plc:[a-z2-7]{{24}}|web:{BLUESKY_RE.pattern})")
MAX_DOMAIN_CHARS = 253
#: The default Bluesky domain: ``platform="bluesky"`` with a bare name means ``name.bsky.social``.
BLUESKY_DEFAULT_DOMAIN = "bsky.social"

PLATFORMS = ("x", "bluesky", "mastodon")
PLATFORM_NAMES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}
#: The platforms this server can read accounts from.
SUPPORTED_PLATFORMS = ("x", "bluesky", "mastodon")
#: The longest post of each platform, and in what it is counted.
TEXT_LIMITS = {"x": (280, "characters"), "bluesky": (300, "graphemes"), "mastodon": (500, "characters")}


@dataclass(frozen=True)
class Handle:
    """An account's handle on its platform, as the platform writes it (no leading ``@``)."""

    platform: str
    name: str

    @property
    def key(self) -> str:
        """How the handle is compared: handles are case-insensitive on every platform."""
        return self.name.lower()

    def __str__(self) -> str:
        return "@" + self.name


def parse_handle(raw: object, platform: object = None) -> Handle:
    """The handle typed in the one account field, with its platform (from ``platform`` when given, else
    from the handle's form), or ``InvalidHandle`` saying what was expected. Called before any request."""
    typed = raw.strip() if isinstance(raw, str) else ""
    if platform is not None and platform not in PLATFORMS:
        raise InvalidHandle(f"'platform' must be one of {', '.join(PLATFORMS)}.")
    handle = typed.removeprefix("@")
    if not handle:
        raise InvalidHandle(
            "Enter a handle: an X username like @SenWarren, a Bluesky one like name.bsky.social, a Mastodon one "
            "like @Gargron@mastodon.social."
        )
    if platform is None:  # (the handle's form, its one leading "@" already gone)
        platform = "mastodon" if "@" in handle else "bluesky" if "." in handle or handle.startswith("did:") else "x"
    if platform == "x":
        return Handle("x", validate_handle(handle))
    if platform == "bluesky":
        return Handle("bluesky", _bluesky(typed, handle))
    return Handle("mastodon", _mastodon(typed, handle))


def validate_handle(raw: object) -> str:
    """Return the X handle without whitespace and a leading ``@``, or raise ``InvalidHandle``.

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


def _bluesky(typed: str, handle: str) -> str:
    if DID_RE.fullmatch(handle) and len(handle) <= MAX_DOMAIN_CHARS:
        return handle.lower()
    if "." not in handle and HANDLE_RE.fullmatch(handle.replace("-", "_")):
        handle = f"{handle}.{BLUESKY_DEFAULT_DOMAIN}"
    if len(handle) > MAX_DOMAIN_CHARS or not BLUESKY_RE.fullmatch(handle):
        raise InvalidHandle(
            f"“{typed[:60]}” is not a valid Bluesky handle: it is a domain name, like name.bsky.social or example.com."
        )
    return handle.lower()  # Bluesky handles are case-insensitive and written in lower case


def _mastodon(typed: str, handle: str) -> str:
    found = MASTODON_RE.fullmatch(handle)
    name, _, domain = handle.partition("@")
    if found is None and name and domain and (literal_address(domain) is not None or "." not in domain.strip(".")):
        raise InvalidHandle(
            f"{domain[:60]} is not a public Mastodon instance: an instance is a domain name on the internet, "
            "like mastodon.social, never an address or a local name."
        )
    if found is None or len(found.group(2)) > MAX_DOMAIN_CHARS:
        raise InvalidHandle(
            f"“{typed[:60]}” is not a valid Mastodon handle: it is @name@instance, like @Gargron@mastodon.social."
        )
    return f"{found.group(1)}@{found.group(2).lower()}"


def platform_of(handle: str) -> str:
    """The platform a handle belongs to, from its form (a DID is a Bluesky account's)."""
    handle = handle.removeprefix("@")
    return "mastodon" if "@" in handle else "bluesky" if "." in handle or handle.startswith("did:") else "x"


def text_length(text: str, platform: str) -> int:
    """How long ``text`` is as ``platform`` counts it: characters, or for Bluesky user-perceived characters
    (graphemes: an emoji with its modifiers, or a letter with its accents, counts once)."""
    if TEXT_LIMITS[platform][1] == "graphemes":
        return graphemes(text)
    return len(text)


_JOINERS = {"\u200d"}  # a zero-width joiner glues the next character onto the cluster (emoji sequences)


def graphemes(text: str) -> int:
    """The number of grapheme clusters in ``text``, by the common rules of Unicode's segmentation: combining
    marks, variation selectors, emoji modifiers and tags, ZWJ sequences and regional-indicator pairs (flags)
    extend a cluster; CR LF is one. (Hangul syllable jamo and Indic conjuncts are counted per character.)"""
    count = 0
    previous = ""
    glue = False
    regional_open = False
    for char in text:
        code = ord(char)
        extends = (
            unicodedata.category(char) in ("Mn", "Me", "Mc")
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F
            or char in _JOINERS
            or (previous == "\r" and char == "\n")
        )
        regional = 0x1F1E6 <= code <= 0x1F1FF
        if count and (extends or glue or (regional and regional_open)):
            regional_open = False if regional else regional_open
        else:
            count += 1
            regional_open = regional
        glue = char in _JOINERS
        previous = char
    return count
