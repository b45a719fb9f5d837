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


def scratch_app(database_url: str | None = None, migrations: Path | None = None, **settings):
    """An app on ``database_url`` (default: a new SQLite file) with the schema migrated (by ``migrations``,
    default this tree's); tables emptied."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from twitapp import create_app
    from twitapp.config import TestConfig
    from twitapp.extensions import db

    url = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='hypotweet-bench-')}/bench.sqlite3"
    app = create_app(TestConfig(DATABASE_URL=url, **settings))
    with app.app_context():
        upgrade(directory=str(migrations or ROOT / "migrations"))
        db.session.execute(text("DELETE FROM tweets"))
        db.session.execute(text("DELETE FROM accounts"))
        db.session.commit()
    return app


# --- one case in a fresh process, in this tree or another checkout (before/after runs) --------------------

RESULT_PREFIX = "BENCH-RESULT "


def _status_mib(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux)."""
    return _status_mib("VmRSS")


def peak_mib() -> float:
    """This process's peak resident memory (since start or the last ``reset_peak``), in MiB (Linux)."""
    return _status_mib("VmHWM")


def reset_peak() -> None:
    """Set the peak resident memory to the current one (Linux's /proc/self/clear_refs, 5), so that
    ``peak_mib`` measures from here: a case's peak without its set-up (spaCy loading, say)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def settle() -> float:
    """Collect garbage and hand freed heap back to the system (glibc's malloc_trim); the RSS after."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    return rss_mib()


def use_tree(tree: str | Path) -> Path:
    """Import ``twitapp`` from ``tree`` (a checkout of another commit) in this process: call it before
    importing anything of the app."""
    tree = Path(tree).resolve()
    sys.path.insert(0, str(tree))
    return tree


def report_result(result: dict) -> None:
    """A child's figures, one line on stdout that ``run_child`` reads back."""
    import json

    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_child(script: Path, tree: Path, args: list[str], timeout: float = 1800) -> dict:
    """Run ``script`` (a bench of this tree) with ``args`` in a fresh Python process whose working
    directory and PYTHONPATH are ``tree``; its ``report_result`` line, with the wall time of the whole
    process (``process_s``), or what went wrong."""
    import json
    import subprocess
    import time

    env = dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), *args], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line.removeprefix(RESULT_PREFIX)) | {"process_s": time.perf_counter() - started}
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"error": f"exit {done.returncode}: " + " | ".join(tail)}


def gunicorn_malloc() -> None:
    """glibc's settings that ``gunicorn.conf.py`` gives the web workers (two arenas, a fixed mmap threshold
    of 256 KiB), for a bench that measures a request's memory as a worker would."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-8, 2)
    libc.mallopt(-3, 256 * 1024)
