"""What the ``atproto`` SDK would cost a worker: resident memory (VmRSS) and import time of one process,
bare or holding the app with its spaCy model loaded, before and after importing ``atproto`` and making a
client. ``atproto`` is not a dependency: install it into a throwaway venv of the same Python and pass its
site-packages (the app's own packages come first, so a shared one such as pydantic is counted once).

    python3.11 -m venv /tmp/atvenv && /tmp/atvenv/bin/pip install atproto
    SITE=/tmp/atvenv/lib/python3.11/site-packages
    for mode in bare bare+atproto worker worker+atproto; do
        OPENBLAS_NUM_THREADS=1 python bench/atproto_memory.py $mode --site-packages $SITE
    done
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["bare", "bare+atproto", "worker", "worker+atproto"])
    parser.add_argument("--site-packages", default="/tmp/atvenv/lib/python3.11/site-packages")
    args = parser.parse_args()
    if args.mode.startswith("worker"):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from twitapp import create_app, runtime
        from twitapp.config import Config

        app = create_app(Config({"DATABASE_URL": "sqlite://", "SECRET_KEY": "bench"}))
        with app.app_context():
            runtime.embedder().embed(["load the model"])
    import requests  # noqa: F401  (the app's HTTP client, in every mode)

    before = rss_mb()
    started = time.perf_counter()
    if args.mode.endswith("atproto"):
        sys.path.append(args.site_packages)
        from atproto import Client  # type: ignore[import-not-found]

        Client(base_url="http://127.0.0.1:9")
    took = time.perf_counter() - started
    print(f"{args.mode}: {before:.1f} MB -> {rss_mb():.1f} MB resident, atproto import {took:.2f} s")


if __name__ == "__main__":
    main()
