"""Fixtures: every test gets a fresh, migrated database with the default lists.

SQLite by default. With TAVLA_TEST_DATABASE_URL=postgresql://... every test
runs on that PostgreSQL database instead (its `public` schema is emptied and
rebuilt; other connections to the database are ended before each test).
"""
import io
import os
import shutil

import pytest

import models

POSTGRES_URL = os.environ.get("TAVLA_TEST_DATABASE_URL", "")


# Migrating costs more than copying a file, so one migrated SQLite database
# is made per session and each test gets its own copy.
@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = models.bind_database(f"sqlite:///{path}")
    with db.connection_context():
        models.upgrade_database(db, "en")
    db.close_all()  # pooled connections: really close, so the file holds every write
    return path


@pytest.fixture
def sqlite_database_url(template_database, tmp_path):
    """A freshly migrated SQLite database of this test's own, whatever the pass."""
    path = tmp_path / "tavla.db"
    shutil.copy(template_database, path)
    return f"sqlite:///{path}"


class PostgresReset:
    """Puts the PostgreSQL test database back to a freshly migrated state.

    Running every migration for every test took most of the PostgreSQL pass,
    so the schema is migrated once; then the rows the migrations insert (the
    default lists, the migration log...) and the state of every sequence are
    kept, and each test gets one TRUNCATE of every table, the kept rows copied
    back in and the sequences set to where a fresh migration leaves them.
    A test that empties the schema (`empty_database_url`) makes the next one
    migrate from scratch again.
    """

    def __init__(self, url):
        self.url = url
        self.db = models.make_database(url)
        self.schema_is_migrated = False
        self.migrate_from_scratch()
        self.tables = self.db.get_tables()
        self.rows = self.copy_rows()
        self.sequences = self.db.execute_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
            "FROM pg_sequences WHERE schemaname = 'public'").fetchall()
        self.sequence_states = self.read_sequences()

    def end_other_connections(self):
        """End connections left by earlier tests (server threads, unclosed databases).

        They would hold TRUNCATE up behind their locks, and pile up over a session.
        """
        self.db.execute_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")

    def empty_schema(self):
        self.db.connect(reuse_if_open=True)
        self.end_other_connections()
        self.db.execute_sql("DROP SCHEMA public CASCADE")
        self.db.execute_sql("CREATE SCHEMA public")
        self.schema_is_migrated = False

    def migrate_from_scratch(self):
        self.empty_schema()
        models.database.initialize(self.db)  # the default lists are written through the models
        models.upgrade_database(self.db, "en")
        self.schema_is_migrated = True

    def referenced_first(self, tables):
        """`tables` ordered so that a table comes after the tables its foreign keys name."""
        references = {table: set() for table in tables}
        for table, referenced in self.db.execute_sql(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"):
            table, referenced = table.strip('"'), referenced.strip('"')
            if table in references and referenced in references and referenced != table:
                references[table].add(referenced)
        ordered = []
        while references:
            ready = sorted(t for t, needs in references.items() if not needs - set(ordered))
            if not ready:
                raise RuntimeError(f"foreign keys in a cycle among {sorted(references)}")
            ordered += ready
            for table in ready:
                del references[table]
        return ordered

    def copy_rows(self):
        """The rows of every non-empty table, as COPY text in the tables' own row order."""
        cursor = self.db.cursor()
        rows = {}
        for table in self.tables:
            buffer = io.StringIO()
            cursor.copy_expert(f'COPY "{table}" TO STDOUT', buffer)
            if buffer.getvalue():
                rows[table] = buffer.getvalue()
        return [(table, rows[table]) for table in self.referenced_first(list(rows))]

    def read_sequences(self):
        return [self.db.execute_sql(f"SELECT last_value, is_called FROM {name}").fetchone()
                for name, in self.sequences]

    def reset(self):
        self.db.connect(reuse_if_open=True)
        if not self.schema_is_migrated:
            self.migrate_from_scratch()
            return
        self.end_other_connections()
        cursor = self.db.cursor()
        with self.db.atomic():
            tables = ", ".join(f'"{table}"' for table in self.tables)
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            for table, rows in self.rows:
                cursor.copy_expert(f'COPY "{table}" FROM STDIN', io.StringIO(rows))
            for (name,), (last_value, is_called) in zip(self.sequences,
                                                        self.sequence_states):
                cursor.execute("SELECT setval(%s, %s, %s)", (name, last_value, is_called))


@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL test database, migrated once (None on SQLite)."""
    if not POSTGRES_URL:
        yield None
        return
    postgres = PostgresReset(POSTGRES_URL)
    yield postgres
    postgres.db.close()


@pytest.fixture
def empty_database_url(request, tmp_path):
    """A database with no tables at all."""
    postgres = request.getfixturevalue("postgres")
    if postgres:
        postgres.empty_schema()
        return postgres.url
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def database_url(request):
    """A freshly migrated database with the default lists (R3, R5)."""
    postgres = request.getfixturevalue("postgres")
    if postgres:
        postgres.reset()
        return postgres.url
    return request.getfixturevalue("sqlite_database_url")


@pytest.fixture
def db(database_url):
    """A bound, connected database for model tests."""
    database = models.bind_database(database_url)
    database.connect()
    yield database
    database.close()


@pytest.fixture
def sqlite_db(sqlite_database_url):
    """A bound, connected SQLite database, for tests of SQLite's own settings."""
    database = models.bind_database(sqlite_database_url)
    database.connect()
    yield database
    database.close()


@pytest.fixture
def job_worker(database_url):
    """A real job consumer (worker threads, scheduler, heartbeat) on this test's queue,
    as `flask run` starts one; stopped at the end."""
    from models.jobs import bind_queue, start_consumer, stop_consumer
    bind_queue(database_url)
    consumer = start_consumer(workers=2)
    yield consumer
    stop_consumer(consumer)
