"""The one database object and the base model every table derives from."""
import os

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect as connect_url

database = DatabaseProxy()

# SQLite settings for a small web server with several worker threads:
# WAL lets readers work while one writer commits, the busy timeout makes a
# second writer wait instead of failing, and BEGIN IMMEDIATE (lock_type)
# takes the write lock at the start of a transaction so two writers never
# deadlock half-way through an upgrade from a read lock.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "synchronous": "normal",
    "cache_size": -32000,
}


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def make_database(url):
    """Build a peewee database from a URL: `sqlite:///path` or `postgresql://...`."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return connect_url(url)


def bind_database(url):
    """Point the shared proxy at the database for `url` and return it."""
    db = make_database(url)
    database.initialize(db)
    return db


def is_sqlite():
    return isinstance(database.obj, SqliteDatabase)
