"""Long work as jobs on a real queue: Huey, with a job table of our own.

A job (a large bulk update, a CSV import, a large CSV export) is a row of
`Job`: its kind, owner, parameters, state, progress, cursor and report. The
request that starts it writes the row and puts the job's id on Huey's queue,
then answers at once; the page polls the row for the progress bar. A
consumer (threads inside `flask run`, or its own process: `flask --app app
worker`) takes the id off the queue and runs the kind's runner
(`models/tasks.py`, the one place tasks are registered).

Where the queue lives follows the database (`bind_queue`): next to a SQLite
database in a file of its own (`<database>-queue.db`, Huey's SqliteStorage:
no server to run); on PostgreSQL in three tables of the same database
(Huey's SqlStorage, created by migration 0017), so several web and worker
machines share it with no other server.

Surviving a restart: a runner works in chunks, each chunk one transaction
that also commits the job's cursor, so a stopped job has whole chunks only.
Every consumer process keeps a `JobWorker` row alive (a heartbeat every
HEARTBEAT_SECONDS). When a consumer starts, and every minute, `recover_jobs`
puts a job whose worker is gone (its row is stale, or its process is no
longer there) back on the queue, and the runner goes on from the cursor.
A job claims its row before it runs (`queued` -> `running` in one UPDATE),
so a job put on the queue twice runs once. Without any live worker the job
page says so instead of waiting forever.

Adding a task: a job kind is a runner registered with `@runner("kind")` in
models/tasks.py; periodic and retrying work use Huey's own decorators on
`queue` there (`@queue.periodic_task(crontab(...))`, `@queue.task(retries=...,
retry_delay=...)`).
"""
import json
import logging
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from huey import Huey
from huey.consumer import Consumer
from huey.contrib.sql_huey import BytesBlobField, SqlStorage
from huey.storage import MemoryStorage, SqliteStorage
from peewee import (BlobField, BooleanField, CharField, CompositeKey, DateTimeField,
                    FloatField, ForeignKeyField, IntegerField, Model, TextField, TimestampField)

from .db import CHECKPOINT_SECONDS, BaseModel, checkpoint_wal, database, is_sqlite
from .engine import RuleViolation
from .schema import N_, User, now

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2
WORKER_TIMEOUT = timedelta(seconds=15)  # a worker not heard of for this long is gone
REQUEUE_AFTER = timedelta(seconds=30)  # a queued job nobody took is put on the queue again
KEEP_FINISHED = timedelta(days=7)  # finished jobs (and export files) are purged after

STATES = {
    "queued": N_("Waiting for a worker"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
}
ACTIVE = ("queued", "running")
KINDS = {
    "bulk": N_("Bulk update"),
    "import": N_("Import"),
    "export": N_("CSV export"),
}


class Job(BaseModel):
    """One piece of long work, its progress and its report."""
    kind = CharField()
    owner = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    subject = IntegerField(null=True)  # the import a job runs, for one
    params = TextField(default="{}")
    state = CharField(default="queued")
    cursor = TextField(default="")  # where a stopped run goes on (JSON)
    done = IntegerField(default=0)
    total = IntegerField(default=0)
    report = TextField(default="{}")
    error = TextField(default="")  # a translatable message
    error_params = TextField(default="{}")
    cancel_requested = BooleanField(default=False)
    worker = CharField(default="")
    attempts = IntegerField(default=0)
    created_at = DateTimeField(default=now)
    started_at = DateTimeField(null=True)
    heartbeat_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("owner", "created_at"), False), (("state",), False))

    @property
    def parameters(self):
        return json.loads(self.params or "{}")

    @property
    def results(self):
        return json.loads(self.report or "{}")

    @property
    def active(self):
        return self.state in ACTIVE

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)

    @property
    def percent(self):
        return min(100, 100 * self.done // self.total) if self.total else 0

    @property
    def failure(self):
        """(msgid, params) of why the job failed or stopped."""
        return self.error, json.loads(self.error_params or "{}")


class JobWorker(BaseModel):
    """A consumer process that is alive while its row is fresh."""
    id = CharField(primary_key=True)
    host = CharField()
    pid = IntegerField()
    started_at = DateTimeField(default=now)
    seen_at = DateTimeField(default=now)


class JobFile(BaseModel):
    """A file a job made (a CSV export), in parts, so any web process can send it."""
    job = ForeignKeyField(Job, backref="parts", on_delete="CASCADE")
    part = IntegerField()
    data = BlobField()

    class Meta:
        indexes = ((("job", "part"), True),)


# --- The queue ------------------------------------------------------------------------------

queue = Huey("tavla", storage_class=MemoryStorage, results=False, utc=False)


class TableNamedSqlStorage(SqlStorage):
    """Huey's SqlStorage with its tables named queue_* (migration 0017 creates them):
    the same columns SqlStorage reads and writes, under names of our own."""

    def create_models(self):
        storage_database = self.database

        class QueueModel(Model):
            queue = CharField()

            class Meta:
                database = storage_database

        class KV(QueueModel):
            key = CharField()
            value = BytesBlobField()

            class Meta:
                table_name = "queue_kv"
                primary_key = CompositeKey("queue", "key")

        class Schedule(QueueModel):
            data = BytesBlobField()
            timestamp = TimestampField(resolution=1000)

            class Meta:
                table_name = "queue_schedule"
                indexes = ((("queue", "timestamp"), False),)

        class Task(QueueModel):
            data = BytesBlobField()
            priority = FloatField(default=0.0)

            class Meta:
                table_name = "queue_task"
                indexes = ((("priority", "id"), False),)

        class Counter(QueueModel):
            key = CharField()
            value = IntegerField()

            class Meta:
                table_name = "queue_counter"
                primary_key = CompositeKey("queue", "key")

        return KV, Schedule, Task, Counter


def queue_file(database_url):
    """The SQLite file of the queue that goes with a SQLite database."""
    path = Path(database_url[len("sqlite:///"):])
    return str(path.with_name(path.stem + "-queue.db"))


def bind_queue(database_url):
    """Point the queue at the storage that goes with the database at `database_url`."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        queue.storage = SqliteStorage("tavla", filename=queue_file(database_url))
    elif database_url.startswith("sqlite"):
        queue.storage = MemoryStorage("tavla")
    else:
        queue.storage = TableNamedSqlStorage("tavla", database=database.obj,
                                             create_tables=False)
    return queue


@queue.task()
def run_job(job_id):
    """The one Huey task: run job `job_id` with the runner of its kind."""
    from .tasks import execute  # the registry imports the runners, which import this
    with database.connection_context():
        execute(job_id)


# --- Starting, reading and stopping jobs -------------------------------------------------------

def submit(kind, user, params=None, subject=None, total=0):
    """Write a job row and put it on the queue.

    Called outside any transaction: the consumer must find the row committed
    when it takes the id off the queue.
    """
    if database.in_transaction():
        raise RuntimeError("submit a job after the transaction that prepares it")
    job = Job.create(kind=kind, owner=user, subject=subject, total=total,
                     params=json.dumps(params or {}, ensure_ascii=False))
    run_job(job.id)
    return job


def visible_jobs(user, limit=50):
    """The newest jobs: an admin sees everyone's, others their own."""
    query = (Job.select(Job, User).join(User, on=(Job.owner == User.id), attr="owner")
             .order_by(Job.created_at.desc(), Job.id.desc()).limit(limit))
    return query if user.is_admin else query.where(Job.owner == user.id)


def visible_job(job_id, user):
    """The job of that id when `user` may see it (its owner or an admin), else None."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None or (not user.is_admin and job.owner_id != user.id):
        return None
    return job


def cancel_job(job, user):
    """Ask a job to stop; a queued one stops at once, a running one after its chunk."""
    if not job.active:
        raise RuleViolation(N_("This job has already finished."))
    with database.atomic():
        stopped = (Job.update(state="cancelled", finished_at=now(), cancel_requested=True)
                   .where(Job.id == job.id, Job.state == "queued").execute())
        if not stopped:
            Job.update(cancel_requested=True).where(Job.id == job.id).execute()
    return Job.get_by_id(job.id)


def workers_alive():
    """True while some consumer process has been heard of lately."""
    return JobWorker.select().where(JobWorker.seen_at > now() - WORKER_TIMEOUT).exists()


def job_file(job):
    """The parts of a job's file, in order (bytes)."""
    for (data,) in (JobFile.select(JobFile.data).where(JobFile.job == job)
                    .order_by(JobFile.part).tuples()):
        yield bytes(data)


# --- Consumers ------------------------------------------------------------------------------------

class Heartbeat:
    """This process's JobWorker row, refreshed every HEARTBEAT_SECONDS by a thread."""

    def __init__(self):
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self.thread = None

    def start(self):
        with own_connection():
            JobWorker.insert(id=self.id, host=socket.gethostname(), pid=os.getpid(),
                             started_at=now(), seen_at=now()).execute()
            recover_jobs()
        self.thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
        self.thread.start()

    def _beat(self):
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            try:
                with database.connection_context():
                    JobWorker.update(seen_at=now()).where(JobWorker.id == self.id).execute()
            except Exception:  # noqa: BLE001 - a busy database: try at the next beat
                log.exception("Job worker heartbeat failed")

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        with own_connection():
            JobWorker.delete().where(JobWorker.id == self.id).execute()


class WalCheckpoints:
    """On SQLite, a thread that copies the WAL into the database file every
    CHECKPOINT_SECONDS, so the pages a job writes are copied here rather than by
    whichever request commits next (models/db.py: wal_autocheckpoint)."""

    def __init__(self):
        self.stopping = threading.Event()
        self.thread = None

    def start(self):
        if is_sqlite():
            self.thread = threading.Thread(target=self._run, name="wal-checkpoints",
                                           daemon=True)
            self.thread.start()

    def _run(self):
        while not self.stopping.wait(CHECKPOINT_SECONDS):
            try:
                with database.connection_context():
                    checkpoint_wal()
            except Exception:  # noqa: BLE001 - the next commit or round checkpoints instead
                log.exception("WAL checkpoint failed")

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


heartbeat = None
checkpoints = None


def _start_process_threads():
    global heartbeat, checkpoints
    heartbeat, checkpoints = Heartbeat(), WalCheckpoints()
    heartbeat.start()
    checkpoints.start()


def _stop_process_threads():
    global heartbeat, checkpoints
    for thread in (checkpoints, heartbeat):
        if thread is not None:
            thread.stop()
    heartbeat = checkpoints = None


@contextmanager
def own_connection():
    """A connection for this block, closed after it only when the block opened it."""
    opened = database.is_closed()
    if opened:
        database.connect()
    try:
        yield
    finally:
        if opened:
            database.close()


def worker_id():
    return heartbeat.id if heartbeat is not None else ""


def _process_alive(worker):
    """False when the worker ran on this machine and its process is gone."""
    if worker.host != socket.gethostname() or worker.pid == os.getpid():
        return True
    try:
        os.kill(worker.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_jobs():
    """Put jobs whose worker is gone back on the queue; they go on from their cursor.

    Also puts back a queued job nobody took for a while when the queue is
    empty (its queue entry was lost, e.g. with a queue file deleted).
    """
    workers = {w.id: w for w in JobWorker.select()}
    fresh = now() - WORKER_TIMEOUT
    alive = {w.id for w in workers.values() if w.seen_at > fresh and _process_alive(w)}
    requeued = []
    for job in Job.select().where(Job.state == "running"):
        if job.worker not in alive:
            changed = (Job.update(state="queued", worker="")
                       .where(Job.id == job.id, Job.state == "running",
                              Job.worker == job.worker).execute())
            if changed:
                requeued.append(job.id)
    if not len(queue):
        stale = now() - REQUEUE_AFTER
        requeued += [job.id for job in Job.select(Job.id)
                     .where(Job.state == "queued", Job.created_at < stale)]
    JobWorker.delete().where(JobWorker.seen_at < now() - WORKER_TIMEOUT * 4).execute()
    for job_id in requeued:
        log.info("Job %s put back on the queue", job_id)
        run_job(job_id)
    return requeued


class EmbeddedConsumer(Consumer):
    """A consumer started from any thread of a process it does not own (a web server):
    the server handles the signals, `stop_consumer` stops it."""

    def _set_signal_handlers(self):
        pass


# How an idle worker thread polls the queue: soon after its last task, then at most
# every half second (what a job or a webhook waits at worst before it starts).
POLLING = {"initial_delay": 0.05, "max_delay": 0.5, "backoff": 1.5}


def start_consumer(workers=2, **options):
    """A consumer inside this process (worker threads, the periodic scheduler and the
    heartbeat), for `flask run` and tests. Returns it; stop it with stop_consumer."""
    from . import tasks  # noqa: F401 - registers the runners and periodic tasks
    _start_process_threads()
    options = {**POLLING, "periodic": True, **options}
    consumer = EmbeddedConsumer(queue, workers=workers, worker_type="thread", **options)
    consumer.start()
    return consumer


def stop_consumer(consumer):
    consumer.stop(graceful=True)
    _stop_process_threads()


def run_consumer(workers=2):
    """The consumer as the process's main loop (`flask --app app worker`) until a signal."""
    from . import tasks  # noqa: F401
    _start_process_threads()
    consumer = queue.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                     **POLLING)
    try:
        consumer.run()
    finally:
        _stop_process_threads()
