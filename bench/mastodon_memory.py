"""What ``Mastodon.py`` would cost a process: resident memory (VmRSS) and import time, before and after
importing ``mastodon`` and making a client with ``api_base_url`` and the app's ``requests`` session.
``Mastodon.py`` is not a dependency: install it into a throwaway folder and pass it (appended after the
app's own packages, so a shared one such as ``requests`` is counted once).

    python3 -m pip install --target /tmp/mpy Mastodon.py
    for mode in bare bare+mastodon; do OPENBLAS_NUM_THREADS=1 python bench/mastodon_memory.py $mode; done
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
    parser.add_argument("mode", choices=["bare", "bare+mastodon"])
    parser.add_argument("--site-packages", default="/tmp/mpy")
    args = parser.parse_args()
    import requests

    before = rss_mb()
    started = time.perf_counter()
    if args.mode.endswith("mastodon"):
        sys.path.append(args.site_packages)
        from mastodon import Mastodon  # type: ignore[import-not-found]

        Mastodon(api_base_url="http://127.0.0.1:9", session=requests.Session(), version_check_mode="none")
    took = time.perf_counter() - started
    print(f"{args.mode}: {before:.1f} MB -> {rss_mb():.1f} MB resident, import {took:.2f} s")


if __name__ == "__main__":
    main()
