"""Progress reports of long work (a ``progress(phase, done, total)`` callback that the CLI draws as a bar
and a background job saves in its meta), and the batches that work goes in."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
Progress = Callable[[str, int, "int | None"], None]


def no_progress(phase: str, done: int, total: int | None) -> None:
    """The callback of work nobody follows."""


def step_counter(progress: Progress, phase: str, total: int | None) -> Callable[[int], None]:
    """A ``step(n)`` callback that adds ``n`` to the phase's count and reports the sum (at most ``total``)."""
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(phase, min(done, total) if total else done, total)

    return step


def iter_chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``: statements stay under the databases' parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
