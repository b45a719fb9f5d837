"""The test suite. Importing the package (before conftest.py and any test module) lets the suite cache bytecode
even where the environment says not to (``PYTHONDONTWRITEBYTECODE``, as in this machine's image): pytest
rewrites the asserts of every test module and of its plugins' packages (hypothesis, schemathesis) when it
imports them, and without its cache every xdist worker, and every ``flask worker`` or gunicorn a test starts,
compiles all of it again. The caches go to ``__pycache__`` folders, which git ignores.
"""

import os
import sys

sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # (the processes the tests start inherit it)
