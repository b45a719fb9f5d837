"""The files that describe settings agree with the code: ``.env.example`` lists every setting ``Config``
reads (``twitapp.config.ENVIRONMENT_KEYS``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from twitapp.config import ENVIRONMENT_KEYS, Config

ROOT = Path(__file__).resolve().parents[1]
# Listed in .env.example for the processes around the app (pipenv run, the Procfile, the test suite), never
# read by Config.
PROCESS_SETTINGS = {"OPENBLAS_NUM_THREADS", "WEB_CONCURRENCY", "TEST_DATABASE_URL"}
KEY_LINE = re.compile(r"^(?:# ?)?([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def env_example_keys() -> list[str]:
    return KEY_LINE.findall((ROOT / ".env.example").read_text(encoding="utf-8"))


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
    assert sorted(recording.read) == sorted(ENVIRONMENT_KEYS)
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
