"""Jobs on a queue, and what the set rules need.

- `job`, `job_worker`, `job_file`: long work as jobs (models/jobs.py): their
  state, progress, cursor and report, the consumer processes alive, and the
  files jobs make (large CSV exports).
- On PostgreSQL, the queue's own tables (`queue_*`, Huey's SqlStorage): the
  queue lives in the same database there. On SQLite it is a file of its own.
- `history.from_status_since`: since when a contact had the status a change
  took it from, so an undone move puts the status date back.
- `import_job.plan` and `saved_items`: an import plans once and saves in
  chunks; a stopped run goes on from the last saved chunk.
- Indexes on lower(email) and lower(name): imports and web forms match
  contacts and companies that way.
"""
import datetime

from peewee import (BlobField, BooleanField, CharField, DateTimeField, ForeignKeyField,
                    IntegerField, Model, PostgresqlDatabase, TextField)

INDEXES = {"contact_email_lower": ("contact", "lower(email)"),
           "company_name_lower": ("company", "lower(name)")}


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class Job(Base):
        kind = CharField()
        owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        subject = IntegerField(null=True)
        params = TextField(default="{}")
        state = CharField(default="queued")
        cursor = TextField(default="")
        done = IntegerField(default=0)
        total = IntegerField(default=0)
        report = TextField(default="{}")
        error = TextField(default="")
        error_params = TextField(default="{}")
        cancel_requested = BooleanField(default=False)
        worker = CharField(default="")
        attempts = IntegerField(default=0)
        created_at = DateTimeField(default=datetime.datetime.now)
        started_at = DateTimeField(null=True)
        heartbeat_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("owner", "created_at"), False), (("state",), False))

    class JobWorker(Base):
        id = CharField(primary_key=True)
        host = CharField()
        pid = IntegerField()
        started_at = DateTimeField(default=datetime.datetime.now)
        seen_at = DateTimeField(default=datetime.datetime.now)

    class JobFile(Base):
        job = ForeignKeyField(Job, backref="parts", on_delete="CASCADE")
        part = IntegerField()
        data = BlobField()

        class Meta:
            indexes = ((("job", "part"), True),)

    db.create_tables([Job, JobWorker, JobFile])
    if isinstance(db, PostgresqlDatabase):
        from models.jobs import TableNamedSqlStorage
        storage = TableNamedSqlStorage("tavla", database=db, create_tables=False)
        db.create_tables([storage.KV, storage.Schedule, storage.Task, storage.Counter])
    migrator.migrate(
        migrator.add_column("history", "from_status_since", DateTimeField(null=True)),
        migrator.add_column("import_job", "plan", TextField(default="")),
        migrator.add_column("import_job", "saved_items", IntegerField(default=0)),
    )
    for name, (table, expression) in INDEXES.items():
        db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" ({expression})')


def down(migrator, db):
    for name in INDEXES:
        db.execute_sql(f'DROP INDEX "{name}"')
    migrator.migrate(
        migrator.drop_column("import_job", "saved_items"),
        migrator.drop_column("import_job", "plan"),
        migrator.drop_column("history", "from_status_since"),
    )
    for table in ("queue_counter", "queue_task", "queue_schedule", "queue_kv", "job_file",
                  "job_worker", "job"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
