"""Fixtures: every test gets a fresh, migrated database with the default lists."""
import os
import shutil

import pytest

import models

# Migrating costs more than copying a file, so one migrated database is made
# per session and each test gets its own copy.
@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = models.make_database(f"sqlite:///{path}")
    models.database.initialize(db)
    models.upgrade_database(db, "en")
    db.close()
    return path


@pytest.fixture
def database_url(template_database, tmp_path):
    path = tmp_path / "tavla.db"
    shutil.copy(template_database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url):
    """A bound, connected database for model tests."""
    database = models.bind_database(database_url)
    database.connect()
    yield database
    database.close()
