"""gunicorn hooks, read from the working directory (the Procfile's flags still set workers, threads, bind).

With ``--preload`` the app is built in the master; ``when_ready`` then loads the spaCy model there, once,
before the workers are forked, so the workers share its pages instead of each loading its own copy, and
freezes the objects made so far so the garbage collector does not copy those pages into every worker.
"""
import ctypes
import gc


def when_ready(server):
    try:  # fewer malloc arenas per thread: less fragmentation in long-lived threaded workers
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX = 2
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
