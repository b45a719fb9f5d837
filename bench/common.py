"""Shared helpers of the benchmarks: the shared data set, an app on a scratch database."""

from __future__ import annotations

import csv
import gzip
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SENATE_CSV = SHARED / "data" / "senate117" / "tweets.csv.gz"
sys.path.insert(0, str(ROOT))


def require_shared(path: Path = SENATE_CSV) -> Path:
    if not path.exists():
        sys.exit(f"{path} not found: the benchmarks read ../shared beside the repository")
    return path


def senate_by_author(path: Path = SENATE_CSV) -> dict[str, list[dict]]:
    """Rows of the senate file by author, oldest first."""
    by_author: dict[str, list[dict]] = {}
    with gzip.open(require_shared(path), "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            by_author.setdefault(row["author"], []).append(row)
    return by_author


def scratch_app(database_url: str | None = None, **settings):
    """An app on ``database_url`` (default: a new SQLite file) with the schema migrated; tables emptied."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from twitapp import create_app
    from twitapp.config import TestConfig
    from twitapp.extensions import db

    url = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='hypotweet-bench-')}/bench.sqlite3"
    app = create_app(TestConfig(DATABASE_URL=url, **settings))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.execute(text("DELETE FROM tweets"))
        db.session.execute(text("DELETE FROM accounts"))
        db.session.commit()
    return app
