"""The server-rendered pages."""
from flask import Blueprint

bp = Blueprint("web", __name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)
from . import jobs  # noqa: E402,F401  (the page of a background job)
from . import ui  # noqa: E402,F401  (template helpers, versioned static URLs)
