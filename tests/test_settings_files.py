"""The files that describe settings and deployment agree with the code: ``.env.example`` and the README's
settings table list every setting ``Config`` reads (``twitapp.config.ENVIRONMENT_KEYS``), ``app.json`` (the
Heroku button) names only those, and ``.python-version`` is the Pipfile's Python."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

from twitapp.config import ENVIRONMENT_KEYS, PLATFORM_KEYS, Config

ROOT = Path(__file__).resolve().parents[1]
# Listed in .env.example for the processes around the app (pipenv run, the Procfile, the test suite), never
# read by Config.
PROCESS_SETTINGS = {"OPENBLAS_NUM_THREADS", "WEB_CONCURRENCY", "TEST_DATABASE_URL"}
KEY_LINE = re.compile(r"^(?:# ?)?([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def env_example_keys() -> list[str]:
    return KEY_LINE.findall((ROOT / ".env.example").read_text(encoding="utf-8"))


def app_json() -> dict:
    return json.loads((ROOT / "app.json").read_text(encoding="utf-8"))


def procfile_types() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


class RecordingEnviron(dict):
    """``os.environ`` stand-in that remembers every name looked up."""

    def __init__(self, values):
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def test_environment_keys_are_what_config_reads(monkeypatch):
    recording = RecordingEnviron({})
    monkeypatch.setattr(os, "environ", recording)
    Config()
    assert sorted(recording.read) == sorted(ENVIRONMENT_KEYS + PLATFORM_KEYS)
    assert len(set(ENVIRONMENT_KEYS)) == len(ENVIRONMENT_KEYS)


def test_env_example_lists_every_setting_once():
    keys = env_example_keys()
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f".env.example lists {duplicates} more than once"
    app_keys = set(keys) - PROCESS_SETTINGS
    assert sorted(set(ENVIRONMENT_KEYS) - app_keys) == [], "settings missing from .env.example"
    assert sorted(app_keys - set(ENVIRONMENT_KEYS)) == [], ".env.example lists keys the app does not read"
    assert not PROCESS_SETTINGS & set(ENVIRONMENT_KEYS)


def test_env_example_documents_each_key():
    """Every key has its own comment right above it: a line of prose, not another key."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if KEY_LINE.match(line):
            above = lines[number - 1]
            assert above.startswith("# ") and not KEY_LINE.match(above), f"{line!r} has no comment of its own"


def test_readme_settings_table_lists_every_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.MULTILINE)
    assert sorted(rows) == sorted(ENVIRONMENT_KEYS)


def test_app_json_names_only_settings_the_app_reads():
    env = app_json()["env"]
    assert set(env) <= set(ENVIRONMENT_KEYS), sorted(set(env) - set(ENVIRONMENT_KEYS))
    for key, spec in env.items():
        assert set(spec) <= {"description", "value", "required", "generator"}, key
        assert spec.get("description"), f"{key} needs a description"


def test_app_json_generates_the_secret_key_and_asks_for_the_admin_password():
    env = app_json()["env"]
    assert env["SECRET_KEY"]["generator"] == "secret" and "value" not in env["SECRET_KEY"]
    assert env["ADMIN_PASSWORD"].get("required", True) is True  # app.json's default is required
    assert "value" not in env["ADMIN_PASSWORD"] and "generator" not in env["ADMIN_PASSWORD"]
    optional = {key for key, spec in env.items() if spec.get("required") is False}
    assert "X_BEARER_TOKEN" in optional
    assert {key for key in env if key not in optional} == {"SECRET_KEY", "ADMIN_PASSWORD"}


def test_app_json_formation_matches_the_procfile():
    manifest = app_json()
    processes = set(procfile_types()) - {"release"}  # the release phase runs once per deploy, not as a dyno
    assert set(manifest["formation"]) == processes == {"web", "worker"}
    for name, dynos in manifest["formation"].items():
        assert dynos["quantity"] >= 1 and dynos["size"] == "basic", name
    assert procfile_types()["release"].strip() == "flask db upgrade"  # so no postdeploy script is needed
    assert "scripts" not in manifest


def test_app_json_addons_stack_and_buildpack():
    manifest = app_json()
    assert manifest["addons"] == ["heroku-postgresql:essential-0", "heroku-redis:mini"]
    assert manifest["stack"] == "heroku-24"
    assert manifest["buildpacks"] == [{"url": "heroku/python"}]
    assert manifest["name"] and manifest["description"] and manifest["repository"].startswith("https://")


def test_app_json_has_only_schema_keys():
    known = {
        "name", "description", "keywords", "website", "repository", "logo", "success_url", "scripts", "env",
        "formation", "addons", "buildpacks", "environments", "stack", "image",
    }  # fmt: skip
    assert set(app_json()) <= known


def test_python_version_matches_the_pipfile():
    pinned = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    with (ROOT / "Pipfile").open("rb") as handle:
        pipfile = tomllib.load(handle)
    assert pinned == pipfile["requires"]["python_version"] == "3.11"
