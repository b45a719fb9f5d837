"""The server-rendered pages."""
from flask import Blueprint

bp = Blueprint("web", __name__)

from . import views  # noqa: E402,F401  (registers the routes on bp)
