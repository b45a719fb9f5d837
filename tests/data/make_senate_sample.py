"""Cut tests/data/senate117-sample.csv.gz from the shared file (see README.md beside this script).

    python tests/data/make_senate_sample.py [../shared/data/senate117/tweets.csv.gz]

The output is byte-for-byte reproducible: same rows, same order as the source, gzip without a timestamp.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "senate117" / "tweets.csv.gz"
OUTPUT = HERE / "senate117-sample.csv.gz"
FIRST_ACCOUNTS, NEWEST = 3, 190  # test_authorship.py: the file's first 3 accounts, 150 + 40 newest tweets each
SEEDED = ("SenWarren", "marcorubio")  # conftest.two_senators (newest 150), test_prediction (the 50 before)
OLDEST, LATEST = 40, 200  # test_imports.py uploads the 40 oldest
SPREAD = {"SenWarren": 300, "marcorubio": 300, "ChuckGrassley": 300}  # test_browser.py: over the whole history


def spread(rows: list, n: int) -> list:
    """``n`` rows evenly spaced over ``rows`` (in time order): every k-th, the newest ``n`` of them."""
    return rows[:: max(1, len(rows) // n)][-n:]


def picked(author: str, rows: list[dict], first_accounts: list[str]) -> set[str]:
    """The ``tweet_id`` of the rows of ``author`` kept in the sample."""
    keep = []
    if author in first_accounts:
        keep += sorted(rows, key=lambda r: (r["created_at"], r["text"]))[-NEWEST:]
    if author in SEEDED:
        keep += rows[:OLDEST] + rows[-LATEST:]
    if author in SPREAD:
        keep += spread(rows, SPREAD[author])
    return {row["tweet_id"] for row in keep}


def main(source: Path = SOURCE, output: Path = OUTPUT) -> None:
    csv.field_size_limit(sys.maxsize)
    by_author: dict[str, list[dict]] = {}
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames
        for row in reader:
            by_author.setdefault(row["author"], []).append(row)
    first_accounts = list(by_author)[:FIRST_ACCOUNTS]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    kept, accounts = 0, 0
    for author, rows in by_author.items():
        ids = picked(author, rows, first_accounts)
        accounts += bool(ids)
        for row in rows:
            if row["tweet_id"] in ids:
                writer.writerow(row)
                kept += 1
    with open(output, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    print(f"{output}: {kept} tweets of {accounts} accounts")


if __name__ == "__main__":
    main(*(Path(arg) for arg in sys.argv[1:2]))
