"""The JSON API: the same services as the pages, JSON in and out, errors as ``{"error": "..."}``."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import (
    job_status,  # noqa: F401  (GET /api/jobs/<id>)
    openapi,  # noqa: F401  (GET /api/openapi.json)
    views,  # noqa: F401  (registers the routes on bp)
)
