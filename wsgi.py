"""The WSGI entry point for gunicorn (the Procfile's ``web``): loads ``.env`` once, then builds the app."""

from dotenv import load_dotenv

load_dotenv()

from twitapp import create_app  # noqa: E402  (after .env: the settings are read when the app is built)

app = create_app()
