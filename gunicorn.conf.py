"""gunicorn hooks, read from the working directory (the Procfile's flags still set workers, threads, bind).

With ``--preload`` the app is built in the master; ``when_ready`` then loads the spaCy model there, once,
before the workers are forked, so the workers share its pages instead of each loading its own copy, and
freezes the objects made so far so the garbage collector does not copy those pages into every worker.
"""

import ctypes
import gc


def when_ready(server):
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX: fewer arenas per thread, less fragmentation in threaded workers
        # M_MMAP_THRESHOLD fixed at 256 KiB: a model fit's large temporary arrays are then always mapped
        # and unmapped, instead of glibc raising the threshold after the first ones are freed and
        # carving later ones out of the heap, where they fragment it and stay counted against the dyno
        libc.mallopt(-3, 256 * 1024)
    except (OSError, AttributeError):
        pass
    app = getattr(server.app, "callable", None)
    if app is None or not hasattr(app, "app_context"):
        return
    from twitapp import runtime

    with app.app_context():
        runtime.embedder().embed(["warm up the spaCy model before the workers fork"])
    gc.collect()
    gc.freeze()
