"""Fixtures: every test gets a fresh, migrated database with the default lists.

SQLite by default. With TAVLA_TEST_DATABASE_URL=postgresql://... every test
runs on that PostgreSQL database instead, its schema emptied before each test.
"""
import os
import shutil

import pytest

import models

POSTGRES_URL = os.environ.get("TAVLA_TEST_DATABASE_URL", "")


def reset_postgres(url):
    db = models.make_database(url)
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
    return url


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables at all."""
    if POSTGRES_URL:
        return reset_postgres(POSTGRES_URL)
    return f"sqlite:///{tmp_path / 'empty.db'}"


# Migrating costs more than copying a file, so one migrated SQLite database
# is made per session and each test gets its own copy.
@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = models.bind_database(f"sqlite:///{path}")
    with db.connection_context():
        models.upgrade_database(db, "en")
    return path


@pytest.fixture
def database_url(request, tmp_path):
    if POSTGRES_URL:
        db = models.bind_database(reset_postgres(POSTGRES_URL))
        with db.connection_context():
            models.upgrade_database(db, "en")
        return POSTGRES_URL
    path = tmp_path / "tavla.db"
    shutil.copy(request.getfixturevalue("template_database"), path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url):
    """A bound, connected database for model tests."""
    database = models.bind_database(database_url)
    database.connect()
    yield database
    database.close()
