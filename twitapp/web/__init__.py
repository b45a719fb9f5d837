"""The server-rendered pages."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import (
    job_page,  # noqa: F401  (the page of a background job)
    ui,  # noqa: F401  (template helpers, versioned static URLs)
    views,  # noqa: F401  (registers the routes on bp)
)
