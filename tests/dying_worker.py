"""``flask worker`` that dies right after its first commit holding a job receipt: the worker and its work
horse are SIGKILLed between the commit and Redis hearing of it, as when a dyno is lost at that instant.

Run as ``python -m tests.dying_worker [worker options]`` (test_jobs.py); nothing of the app is changed
but ``Session.commit``, in this process and the horses it forks.
"""

from __future__ import annotations

import os
import signal
import sys

from sqlalchemy.orm import Session

from twitapp.models import JobReceipt

_commit = Session.commit


def _commit_then_die(self: Session) -> None:
    holds_receipt = any(isinstance(item, JobReceipt) for item in self.new)
    _commit(self)
    if holds_receipt:
        os.kill(os.getppid(), signal.SIGKILL)  # the worker that forked this work horse
        os.kill(os.getpid(), signal.SIGKILL)


Session.commit = _commit_then_die  # type: ignore[method-assign]

if __name__ == "__main__":
    from flask.cli import main

    sys.argv = ["flask", "--app", "twitapp", "worker", *sys.argv[1:]]
    main()
