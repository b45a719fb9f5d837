"""The JSON API: the same services as the pages, JSON in and out, errors as ``{"error": "..."}``."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)
from . import jobs  # noqa: E402,F401  (GET /api/jobs/<id>)
