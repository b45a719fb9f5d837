"""The app's services: plain functions and classes that take their dependencies as arguments.

Views, CLI commands and background jobs call these; none of them depends on a Flask request.
"""
