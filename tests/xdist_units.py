"""How pytest-xdist splits the suite among its workers: which tests must run together on one worker,
and which are better run together. conftest.py imports the hooks.

The tests that use Redis share one Redis database, so they must not run at the same time on two workers.
xdist's own ``--dist loadgroup`` would do, but with pytest 9.2 it silently stops grouping (pytest-xdist
issue #1386), so the scheduler below groups them by a rule the controller can apply to node ids alone (it
sees no fixtures): a test in test_jobs.py, or a test whose name says "redis". The collection hook checks
that every test using ``redis_db`` follows the rule.

Other groups only save time: the browser tests share one Chromium and the embeddings of their accounts,
and each module below builds an expensive module-scoped fixture (a gunicorn, a fitted model, embedded
samples) that would otherwise be built once on each worker. The two longest units, Redis and the browser,
are handed out first, one to each worker, so neither ends the run alone on one worker.
"""

from __future__ import annotations

import pytest

REDIS_UNIT, BROWSER_UNIT = "redis", "browser"
MODULE_UNITS = frozenset(
    f"test_{name}.py"
    for name in ("serving", "openset", "calibration", "similar", "authorship", "warm_path", "security", "embedding")
)


def uses_the_redis_unit(nodeid: str) -> bool:
    path, _, name = nodeid.partition("::")
    return path.endswith("test_jobs.py") or "redis" in name.lower()


def work_unit(nodeid: str) -> str:
    """The unit of tests one xdist worker runs together, one after another: see above."""
    path = nodeid.partition("::")[0]
    module = path.rsplit("/", 1)[-1]
    if uses_the_redis_unit(nodeid):
        return REDIS_UNIT
    if module.startswith("test_browser"):
        return BROWSER_UNIT
    return path if module in MODULE_UNITS else nodeid


def pytest_collection_modifyitems(config, items):
    stray = [i.nodeid for i in items if "redis_db" in i.fixturenames and not uses_the_redis_unit(i.nodeid)]
    if stray:
        raise pytest.UsageError(
            "tests that use Redis must be in test_jobs.py or have 'redis' in their name "
            f"(conftest.uses_the_redis_unit): {', '.join(stray)}"
        )


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own, which answers for "load"
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "load":  # an explicit --dist: xdist's own scheduler
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        """Each test is its own unit, like ``--dist load``, but for the groups of ``work_unit``; the Redis
        and browser units go out first."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

        def _assign_work_unit(self, node) -> None:
            for first in (BROWSER_UNIT, REDIS_UNIT):
                if first in self.workqueue:
                    self.workqueue.move_to_end(first, last=False)
            super()._assign_work_unit(node)

    return UnitScheduling(config, log)
