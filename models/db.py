"""The one database object and the base model every table derives from."""
import json
import os
import threading
import time
from contextlib import contextmanager

from peewee import SQL, DatabaseProxy, Model, OperationalError, SqliteDatabase, Value, fn
from playhouse.db_url import connect as connect_url
from playhouse.pool import PooledSqliteDatabase

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
    # A commit that finds this many pages (16 MB) in the WAL copies them into
    # the database file before it returns. The job consumer checkpoints every
    # CHECKPOINT_SECONDS in a thread of its own (models/jobs.py), so a
    # request's commit (a rep's drop) rarely pays for a bulk job's pages;
    # SQLite's default of 1,000 pages made nearly every commit during a bulk
    # update copy megabytes.
    "wal_autocheckpoint": 4000,
    "journal_size_limit": 64 * 1024 * 1024,  # bytes the WAL file keeps after a checkpoint
}
CHECKPOINT_SECONDS = 0.5


POOL_SIZE = 20  # PostgreSQL connections per server process
SQLITE_POOL_SIZE = 64  # SQLite connections per server process (cheap: a file handle each)
POOL_WAIT_SECONDS = 30  # how long a request waits for a free one when all are busy

# How long a write waits for the other writers of its own process before it
# goes to SQLite's busy handler anyway (a safety valve, never reached when
# every transaction ends).
WRITER_QUEUE_SECONDS = 30


class SqliteQueuedWriters(PooledSqliteDatabase):
    """SQLite whose write transactions queue per process before BEGIN IMMEDIATE.

    Connections are kept in a pool: opening one and setting its pragmas cost
    about 2 ms on every request (the WAL index is mapped anew each time).

    SQLite's busy handler is not a queue: a waiting writer sleeps and polls
    (up to 100 ms between polls), and a newcomer that polls while the lock
    is free goes first. With tens of threads writing at once (gunicorn's
    gthread workers under load) an early waiter could lose for longer than
    busy_timeout and fail with "database is locked". Here the threads of one
    process wait on a lock that hands over at once, so only one writer per
    process polls SQLite, and the busy timeout covers the other processes.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._writer_queue = threading.Lock()
        self._writing = threading.local()
        # Under gevent, SQLite's busy handler would sleep in C and stop every
        # request and stream of the process while another process writes;
        # the wait for the write lock is made here instead, as gevent sleeps.
        self.cooperative = running_under_gevent()

    def _begin_cooperatively(self, lock_type):
        connection = self.connection()
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + SQLITE_PRAGMAS["busy_timeout"] / 1000
            pause = 0.001
            while True:
                try:
                    return super().begin(lock_type)
                except OperationalError as error:
                    if "locked" not in str(error) or time.monotonic() > deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            connection.execute(f"PRAGMA busy_timeout = {SQLITE_PRAGMAS['busy_timeout']}")

    def begin(self, lock_type=None):
        queued = self._writer_queue.acquire(timeout=WRITER_QUEUE_SECONDS)
        try:
            if self.cooperative:
                self._begin_cooperatively(lock_type)
            else:
                super().begin(lock_type)
        except BaseException:
            if queued:
                self._writer_queue.release()
            raise
        self._writing.queued = queued

    def _end_writing(self):
        if getattr(self._writing, "queued", False):
            self._writing.queued = False
            self._writer_queue.release()

    def commit(self):
        try:
            return super().commit()
        finally:
            self._end_writing()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._end_writing()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def after_this_commit(key, callback):
    """Call `callback()` once after the running transaction commits, however often it
    is asked for under `key` in that transaction; never when it rolls back.

    A callback must not raise: the transaction is committed by then.
    """
    transaction = database.top_transaction()
    if transaction is None:
        raise RuntimeError("after_this_commit needs a running transaction")
    asked = transaction.__dict__.setdefault("after_commit_keys", set())
    if key in asked:
        return

    def run():
        asked.discard(key)  # a transaction that goes on after commit() may ask again
        callback()
    asked.add(key)
    database.after_commit(run)


def make_database(url):
    """Build a peewee database from a URL: `sqlite:///path` or `postgresql://...`."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # A pooled connection serves one request or stream at a time, but not
        # always on the thread that opened it.
        return SqliteQueuedWriters(path, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE",
                                   max_connections=SQLITE_POOL_SIZE,
                                   timeout=POOL_WAIT_SECONDS, check_same_thread=False)
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        make_psycopg_cooperative()
        # A PostgreSQL connection costs several milliseconds to open: each
        # process keeps a pool, and a request or event stream poll borrows
        # one (closing it gives it back). Several workers' pools together
        # stay under the server's default limit of 100 connections.
        url = "postgresql+pool://" + url[len("postgresql://"):]
        return connect_url(url, max_connections=POOL_SIZE, stale_timeout=300,
                           timeout=POOL_WAIT_SECONDS)
    return connect_url(url)


def running_under_gevent():
    """True in a process whose sockets gevent has patched (gunicorn's gevent worker)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def make_psycopg_cooperative():
    """Under gevent, a PostgreSQL query waits like a socket read: other requests and
    event streams of the process go on meanwhile (psycopg2 blocks in C otherwise)."""
    if running_under_gevent():
        from psycogreen.gevent import patch_psycopg
        patch_psycopg()


def bind_database(url):
    """Point the shared proxy at the database for `url` and return it."""
    db = make_database(url)
    database.initialize(db)
    return db


def is_sqlite():
    return isinstance(database.obj, SqliteDatabase)


def among(field, ids):
    """`field IN ids` with every id in ONE parameter: a JSON array read by json_each on
    SQLite, an array for `= ANY` on PostgreSQL. Composing thousands of ids one
    parameter at a time cost peewee more than the database took to use them."""
    ids = [int(i) for i in ids]
    if not ids:
        return field.in_([])
    if is_sqlite():
        return field.in_(SQL("(SELECT value FROM json_each(?))", [json.dumps(ids)]))
    return field == fn.ANY(Value(ids, unpack=False))


@contextmanager
def large_cache(megabytes=256):
    """A larger page cache on this connection for the block (SQLite): a bulk chunk
    changes thousands of index pages, and pages that do not fit are written to
    the WAL twice (spilled, then committed)."""
    if not is_sqlite():
        yield
        return
    database.execute_sql(f"PRAGMA cache_size = {-1024 * megabytes}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA cache_size = {SQLITE_PRAGMAS['cache_size']}")


def checkpoint_wal():
    """Copy what the WAL holds into the SQLite database file, without waiting for
    readers or the writer (a passive checkpoint); nothing on PostgreSQL."""
    if is_sqlite():
        database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
