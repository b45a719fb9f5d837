"""The demo set: six US senators' tweets, downloaded from a pinned commit (or read from a local copy of
those files) and checked byte for byte against the SHA-256 digests pinned here.

All six files are read and verified before any is parsed, so a bad download or copy yields nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import requests

from ..exceptions import DownloadFailed, ImportFailed
from .csvfile import read_csv
from .records import ImportedAccount

DEMO_REPOSITORY = "btderr02/117th-Senate-Tweets"
DEMO_COMMIT = "8cc7ed407df72bd6cb87cdcd3ae5d78488c51efc"
DEMO_HANDLES = ("SenWarren", "marcorubio", "ChuckGrassley", "SenSchumer", "HawleyMO", "SenBooker")
DEMO_SHA256 = {
    "SenWarren": "e99539f353d4392c39948a93f51944695deb474948616076b9819492a4eb5815",
    "marcorubio": "2ffefc454a39e696d32efc130f6c9e0324f32d1b934d64a7719775dfa890dae8",
    "ChuckGrassley": "453db252489a8aa51613d7e28a7de9fdea8feed8e58c843ead343f56b6bb3aae",
    "SenSchumer": "8cb28458700f03ff56fe62f13dd8aeefce11a7069967efcbc5e1a0aa86e8e6fe",
    "HawleyMO": "d05d52e1a8f82e54c04761129135934ed936899fd973dc32858ff84c68a593a1",
    "SenBooker": "7cb9c09d3bae7b437031272774d77bcfc6911916fa5aca78fd9a7f8a361dd49f",
}
DEFAULT_DEMO_BASE_URL = f"https://raw.githubusercontent.com/{DEMO_REPOSITORY}/{DEMO_COMMIT}/Data"
DEMO_CREDIT = (
    f"Demo tweets: the 117th Senate Tweets data set by btderr02 (https://github.com/{DEMO_REPOSITORY}), "
    f"files Data/<handle>.csv at commit {DEMO_COMMIT}, used under the MIT License."
)
MAX_DEMO_FILE_BYTES = 20 * 1024 * 1024  # the real files are under 1 MB
CHECKSUMS_FILE = "SHA256SUMS"
WAYS_OUT = (
    "If this network cannot reach GitHub, import a local copy of the six files and their SHA256SUMS with "
    "`flask demo --from DIR`, or download them from a mirror with `flask demo --base-url URL` "
    "(or the DEMO_BASE_URL setting)."
)


def fetch_demo(
    base_url: str,
    session: requests.Session | None = None,
    timeout: float = 30,
    progress: Callable[[str], None] | None = None,
) -> list[ImportedAccount]:
    """Download ``<base_url>/<handle>.csv`` for each demo handle, verify every SHA-256, then parse them.

    Returns one ImportedAccount (source "demo") per handle, in DEMO_HANDLES order. ``progress`` is called
    with each handle once its file is downloaded and verified. Raises DownloadFailed, naming the file,
    for any network error, HTTP error or checksum mismatch; then nothing is returned.
    """
    own_session = session is None
    session = session or requests.Session()
    try:
        files = {}
        for handle in DEMO_HANDLES:
            files[handle] = _download(session, f"{base_url.rstrip('/')}/{handle}.csv", handle, timeout)
            if progress is not None:
                progress(handle)
    finally:
        if own_session:
            session.close()
    return _parse(files)


def read_demo_folder(folder: str | Path, progress: Callable[[str], None] | None = None) -> list[ImportedAccount]:
    """Read ``<folder>/<handle>.csv`` for each demo handle and ``<folder>/SHA256SUMS``, verify, then parse.

    The folder holds the six files as they stand at the pinned commit (``../shared/data/senate117-demo-source``
    is one), and their ``SHA256SUMS`` (``sha256sum *.csv`` output). Every file must match the digest pinned
    here, and SHA256SUMS must list that same digest for it, exactly as a download is checked. Returns what
    ``fetch_demo`` returns; raises ImportFailed, naming the file, for a missing, unreadable or wrong file.
    """
    folder = Path(folder)
    listed = _read_checksums(folder)
    files = {}
    for handle in DEMO_HANDLES:
        filename = f"{handle}.csv"
        path = folder / filename
        if not path.is_file():
            raise ImportFailed(
                f"{folder} has no {filename}: the folder needs the six demo files "
                f"({', '.join(h + '.csv' for h in DEMO_HANDLES)}) and their {CHECKSUMS_FILE}. Nothing was imported."
            )
        if path.stat().st_size > MAX_DEMO_FILE_BYTES:
            raise ImportFailed(f"{path} is far larger than the demo file it should be; nothing was imported.")
        if listed.get(filename) != DEMO_SHA256[handle]:
            raise ImportFailed(
                f"{folder / CHECKSUMS_FILE} does not list the pinned SHA-256 of {filename} "
                f"({'no line for it' if filename not in listed else 'another digest'}): the folder is not a copy "
                f"of the demo files at commit {DEMO_COMMIT}. Nothing was imported."
            )
        content = path.read_bytes()
        if hashlib.sha256(content).hexdigest() != DEMO_SHA256[handle]:
            raise ImportFailed(
                f"{path} does not match its expected SHA-256 checksum: the copy is corrupted, incomplete or "
                "not the pinned file. Nothing was imported."
            )
        files[handle] = content
        if progress is not None:
            progress(handle)
    return _parse(files)


def _read_checksums(folder: Path) -> dict[str, str]:
    """``{filename: sha256 hex}`` from ``folder/SHA256SUMS`` (``<hex>  <name>`` or ``<hex> *<name>`` lines)."""
    path = folder / CHECKSUMS_FILE
    if not folder.is_dir():
        raise ImportFailed(f"{folder} is not a folder. Nothing was imported.")
    if not path.is_file():
        raise ImportFailed(
            f"{folder} has no {CHECKSUMS_FILE}: the folder needs the six demo files and their checksums "
            f"(as `sha256sum *.csv > {CHECKSUMS_FILE}` writes them). Nothing was imported."
        )
    listed = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2:
            listed[parts[1].lstrip("*")] = parts[0].lower()
    return listed


def _parse(files: dict[str, bytes]) -> list[ImportedAccount]:
    return [
        replace(account, source="demo")
        for handle, content in files.items()
        for account in read_csv(content, f"{handle}.csv", account=handle)
    ]


def _download(session: requests.Session, url: str, handle: str, timeout: float) -> bytes:
    filename = f"{handle}.csv"
    try:
        with session.get(url, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise DownloadFailed(
                    f"Could not download {filename} from {url}: the server answered "
                    f"HTTP {response.status_code}. Nothing was imported. {WAYS_OUT}"
                )
            content = _read_capped(response, filename)
    except requests.RequestException as exc:
        raise DownloadFailed(
            f"Could not download {filename} from {url} ({type(exc).__name__}); "
            f"check the connection and try again. Nothing was imported. {WAYS_OUT}"
        ) from None
    if hashlib.sha256(content).hexdigest() != DEMO_SHA256[handle]:
        raise DownloadFailed(
            f"{filename} does not match its expected SHA-256 checksum: the download is "
            "corrupted, incomplete or not the pinned file. Nothing was imported."
        )
    return content


def _read_capped(response: requests.Response, filename: str) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1 << 16):
        size += len(chunk)
        if size > MAX_DEMO_FILE_BYTES:
            raise DownloadFailed(f"{filename} is far larger than the demo file it should be; nothing was imported.")
        chunks.append(chunk)
    return b"".join(chunks)
