"""Test settings: fast hashing, in-memory SQLite unless DATABASE_URL points elsewhere."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not os.environ.get("DATABASE_URL"):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
LANGUAGE_CODE = "zh-hans"
STORAGES["default"] = {"BACKEND": "django.core.files.storage.InMemoryStorage"}
# Tasks run in the test's own thread and transaction, so a batch's result is there when the request returns.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
