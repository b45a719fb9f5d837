"""Open an uploaded .zip safely, for the archive readers (X's, Mastodon's): the file count and the central
directory are bounded before ``zipfile`` reads them, member paths are checked, and the bytes members
produce are counted while they are read, so a zip bomb or a forged header is refused, never extracted.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from typing import IO, BinaryIO

from ..exceptions import ImportFailed, UploadTooLarge

#: The most files one archive may hold (an archive of many years holds a few thousand pictures).
MAX_ZIP_ENTRIES = 100_000
#: The largest central directory read (``zipfile`` keeps every entry of it in memory).
MAX_CENTRAL_DIRECTORY = 32 * 1024 * 1024
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_LOCATOR64 = b"PK\x06\x07"


def open_zip(stream: BinaryIO, filename: str, as_given: str) -> zipfile.ZipFile:
    """The zip of ``stream`` with its member paths checked; ImportFailed when damaged, unsafe or holding
    more than MAX_ZIP_ENTRIES files. ``as_given`` ends the messages ("upload the .zip exactly as ...")."""
    entries, directory = _declared(stream)
    if entries > MAX_ZIP_ENTRIES or directory > MAX_CENTRAL_DIRECTORY:
        raise ImportFailed(
            f"{filename} holds more than {MAX_ZIP_ENTRIES:,} files (or a list of files over "
            f"{MAX_CENTRAL_DIRECTORY // (1024 * 1024)} MB), more than an account's archive holds; it was refused."
        )
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise ImportFailed(f"{filename} is a damaged or incomplete zip file; {as_given}") from None
    if len(archive.infolist()) > MAX_ZIP_ENTRIES:  # (a forged end record understating its count)
        archive.close()
        raise ImportFailed(f"{filename} holds more than {MAX_ZIP_ENTRIES:,} files; it was refused.")
    for info in archive.infolist():
        check_safe(info, as_given)
    return archive


def member_names(stream: BinaryIO, filename: str, as_given: str) -> list[str]:
    """The names of the files in the zip ``stream`` (checked as ``open_zip`` does), the stream left where
    it was: what tells whose archive a zip is before it is read."""
    start = stream.tell()
    try:
        with open_zip(stream, filename, as_given) as archive:
            return [info.filename.replace("\\", "/") for info in archive.infolist()]
    finally:
        stream.seek(start)


def check_safe(info: zipfile.ZipInfo, as_given: str) -> zipfile.ZipInfo:
    """``info`` unless its path is absolute or climbs out of the archive (``..``), which refuses the whole zip."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in name.split("/"):
        raise ImportFailed(
            f"The archive contains a file path that points outside it (“{name[:80]}”), which is unsafe; "
            f"it was refused. {as_given.capitalize()}"
        )
    return info


def _declared(stream: BinaryIO) -> tuple[int, int]:
    """The file count and central directory size the zip's end record declares (0, 0 where none is found:
    ``zipfile`` then says it is damaged)."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    span = min(size, 22 + 0xFFFF + 20)
    stream.seek(size - span)
    tail = stream.read(span)
    stream.seek(0)
    at = tail.rfind(_END)
    if at < 0 or len(tail) < at + 22:
        return 0, 0
    entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    locator = tail[at - 20 : at] if at >= 20 else b""
    if locator.startswith(_LOCATOR64):
        (offset,) = struct.unpack("<Q", locator[8:16])
        stream.seek(min(offset, size))
        record = stream.read(56)
        stream.seek(0)
        if record.startswith(_END64) and len(record) == 56:
            entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory


class Budget:
    """The bytes the members read may still produce: counted as they are actually read, because the sizes
    declared in a zip's headers are written by whoever made the zip (and a lone file declares none)."""

    def __init__(self, filename: str, limit: int, what: str = "The tweets"):
        self.filename, self.limit, self.left, self.what = filename, limit, limit, what

    def wrap(self, inner: IO[bytes]) -> io.RawIOBase:
        return _Counted(inner, self)

    def too_large(self) -> UploadTooLarge:
        return too_large(self.filename, self.limit, self.what)


def too_large(filename: str, limit: int | None, what: str = "The tweets") -> UploadTooLarge:
    size = f" of {limit // (1024 * 1024)} MB" if limit is not None else ""
    return UploadTooLarge(f"{what} in {filename} are larger than the limit{size} once unpacked; it was refused.")


class _Counted(io.RawIOBase):
    def __init__(self, inner: IO[bytes], budget: Budget):
        self._inner, self._budget = inner, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._inner.read(min(len(buffer), self._budget.left + 1))
        self._budget.left -= len(chunk)
        if self._budget.left < 0:
            raise self._budget.too_large()
        buffer[: len(chunk)] = chunk
        return len(chunk)
