"""``flask worker`` whose work horse, on a SIGTERM, gives its job 1 second before it stops it, where rq's
HerokuWorker gives 6: the rest of the shutdown is the app's and rq's own, so a test of it waits 5 s less.

Run as ``python -m tests.prompt_worker [worker options]`` (test_jobs.py); nothing of the app is changed.
"""

from __future__ import annotations

import sys

from rq.worker import HerokuWorker

HerokuWorker.imminent_shutdown_delay = 1  # (the horses it forks inherit it)

if __name__ == "__main__":
    from flask.cli import main

    sys.argv = ["flask", "--app", "twitapp", "worker", *sys.argv[1:]]
    main()
