"""Every job kind and periodic task, registered in one place.

A runner gets a `Run` (the claimed job) and works in chunks: each chunk in
one transaction that also saves the job's cursor, progress and report
(`run.save`), so a job stopped anywhere goes on from its last chunk. Between
chunks `run.check()` stops the job when its user cancelled it. A runner
raises `Stop(msgid, **params)` to end a job with a message for its user
(nothing of the chunk in hand is written).

To add work: `@runner("kind")` for a job users start and follow, or Huey's
`@queue.periodic_task(crontab(...))` / `@queue.task(retries=..., retry_delay=...)`
for background work (reminders, purges, webhook deliveries).
"""
import json
import logging

from huey import crontab

from .bulk import BulkReport, ChunkPace, bulk_step, bulk_target, check_bulk
from .db import database, large_cache
from .engine import Actor, RuleViolation
from .export import Labels, csv_chunks
from .imports import fail_import, run_import
from .jobs import KEEP_FINISHED, Job, JobFile, queue, recover_jobs, worker_id
from .reminders import send_soon, tell_assigned
from .schema import N_, User, now, on_history_committed
from .search import parse_criteria, run_criteria
from .selections import selection_matches, visible_selection
from .trash import purge_deleted

log = logging.getLogger(__name__)

RUNNERS = {}


def runner(kind):
    """Register the function that runs jobs of `kind`."""
    def register(function):
        RUNNERS[kind] = function
        return function
    return register


class Stop(Exception):
    """End the job with a message for its user (a translatable msgid)."""

    def __init__(self, message, state="failed", **params):
        super().__init__(message % params if params else message)
        self.message, self.state, self.params = message, state, params


class Run:
    """A claimed job as its runner sees it."""

    def __init__(self, job):
        self.job = job
        self.params = job.parameters
        self.cursor = json.loads(job.cursor) if job.cursor else None
        self.report = job.results

    def check(self):
        """Stop when the job was cancelled or its user deactivated (a read: the chunk's
        own transaction saves the progress and heartbeat)."""
        cancelled, active = (Job.select(Job.cancel_requested, User.active)
                             .join(User, on=(Job.owner == User.id))
                             .where(Job.id == self.job.id).tuples().get())
        if cancelled:
            raise Stop(N_("Cancelled. What was done before stays done."), state="cancelled")
        if not active:
            raise Stop(N_("The job's user was deactivated, so it stopped. What was done "
                          "before stays done."))

    def save(self, cursor=None, done=None, total=None, report=None):
        """Record progress; call inside the chunk's transaction."""
        values = {"heartbeat_at": now(), "cursor": json.dumps(cursor)}
        if done is not None:
            values["done"] = done
        if total is not None:
            values["total"] = total
        if report is not None:
            values["report"] = json.dumps(report, ensure_ascii=False)
        Job.update(**values).where(Job.id == self.job.id).execute()
        self.cursor = cursor


def claim(job_id):
    """Take the job for this worker if it is still waiting (queued -> running)."""
    with database.atomic():
        taken = (Job.update(state="running", worker=worker_id(), heartbeat_at=now(),
                            attempts=Job.attempts + 1)
                 .where(Job.id == job_id, Job.state == "queued").execute())
        if not taken:
            return None
        Job.update(started_at=now()).where(Job.id == job_id, Job.started_at.is_null()).execute()
    return Job.get_by_id(job_id)


def finish(job_id, state, message="", **params):
    (Job.update(state=state, finished_at=now(), error=message,
                error_params=json.dumps(params, ensure_ascii=False))
     .where(Job.id == job_id).execute())


def execute(job_id):
    """Run job `job_id` with its kind's runner (the body of the Huey task)."""
    job = claim(job_id)
    if job is None:
        return  # taken by another worker, cancelled or finished: nothing to do
    run = Run(job)
    try:
        RUNNERS[job.kind](run)
    except Stop as stop:
        finish(job.id, stop.state, stop.message, **stop.params)
        _after_stop(job, stop)
    except RuleViolation as error:
        finish(job.id, "failed", error.message, **error.params)
        _after_stop(job, Stop(error.message, **error.params))
    except Exception:  # noqa: BLE001 - the job fails, its user is told, the log has why
        log.exception("Job %s (%s) failed", job.id, job.kind)
        message = N_("The job failed. What its finished steps did stays done.")
        finish(job.id, "failed", message)
        _after_stop(job, Stop(message))
    else:
        finish(job.id, "done")


def _after_stop(job, stop):
    if job.kind == "import":
        fail_import(job.subject, stop.message % stop.params if stop.params else stop.message)
    elif job.kind == "bulk":
        saved = Job.get_by_id(job.id).results
        if saved:
            tell_bulk_owners(BulkReport.from_dict(saved),
                             Actor(User.get_or_none(User.id == job.owner_id),
                                   source="bulk", label="Bulk update"))


# --- Bulk update ------------------------------------------------------------------------------

def bulk_matches(params, user):
    """The rows a bulk job works on, worked out again for each chunk: the saved
    selection (which may have been deleted meanwhile) or the search criteria."""
    if params.get("selection"):
        selection = visible_selection(params["selection"], user)
        if selection is None:
            raise Stop(N_("The selection was deleted, so the update stopped. What was done "
                          "before stays done."))
        return selection_matches(selection, user)
    return run_criteria(parse_criteria(params["criteria"]), user)


@runner("bulk")
def run_bulk_job(run):
    """A bulk update of lead status or owner, a chunk of companies or rows at a time."""
    params = run.params
    user = User.get_by_id(run.job.owner_id)
    actor = Actor(user, source="bulk", label="Bulk update")
    report = BulkReport.from_dict(run.report) if run.report else BulkReport()
    cursor = run.cursor or 0
    pace = ChunkPace(params["action"])
    with large_cache():
        while cursor is not None:
            run.check()
            with pace, database.atomic():
                target = bulk_target(params["action"], params.get("target"))
                if target is None and (params["action"] == "status" or params.get("target")):
                    raise Stop(N_("The chosen value was deleted, so the update stopped. What "
                                  "was done before stays done."))
                matches = bulk_matches(params, user)
                check_bulk(matches, params["action"], target)
                part, cursor = bulk_step(matches, params["action"], target, actor, cursor,
                                         chunk=params.get("chunk") or pace.size, notify=False)
                report.take(part, "contacts" if params["action"] == "status"
                            else matches.entity,
                            owner_id=target.id if params["action"] == "owner" and target
                            else None)
                run.save(cursor, done=report.updated + report.unchanged + report.skipped,
                         report=report.to_dict())
    tell_bulk_owners(report, actor)


def tell_bulk_owners(report, actor):
    """R26: the new owner of a bulk job's leads hears once, of all of them, when it ends
    or stops (a notice and a mail per chunk were one per 1,000 leads)."""
    with database.atomic():
        told = tell_assigned(report.assigned, actor)
    if told:
        send_soon()


def start_bulk_job(user, action, target_id, total, criteria=None, selection=None,
                   chunk=None):
    """Queue a bulk update of every row of a search (`criteria` JSON) or a selection;
    `chunk`: companies (or rows, for an owner) per transaction, when not the default."""
    from .jobs import submit
    return submit("bulk", user, {"action": action, "target": target_id,
                                 "criteria": criteria, "selection": selection,
                                 "chunk": chunk}, total=total)


# --- Import -----------------------------------------------------------------------------------

@runner("import")
def run_import_job(run):
    """A CSV import (models/imports.py), which keeps its own cursor and plan."""
    def progress(done, total):
        run.check()
        Job.update(done=done, total=total, heartbeat_at=now()).where(
            Job.id == run.job.id).execute()
    imported = run_import(run.job.subject, progress=progress)
    run.save(None, done=imported.total_rows * 2, total=imported.total_rows * 2,
             report={"import": imported.id})


# --- Export -----------------------------------------------------------------------------------

@runner("export")
def run_export_job(run):
    """A large CSV export into the job's file, in parts of about 1,000 rows.

    The file is made from the start again after a restart (it changes no data).
    """
    params = run.params
    user = User.get_by_id(run.job.owner_id)
    matches = bulk_matches(params, user)
    with database.atomic():
        JobFile.delete().where(JobFile.job == run.job.id).execute()
    total = matches.count()
    labels = Labels.from_dict(params["labels"])
    for part, (data, rows) in enumerate(csv_chunks(matches, params["columns"],
                                                   params["sort"], labels,
                                                   params["separator"])):
        run.check()
        with database.atomic():
            JobFile.create(job=run.job.id, part=part, data=data)
            run.save(None, done=rows, total=max(total, rows),
                     report={"rows": rows, "filename": params["filename"]})


def start_export_job(user, total, columns, sort, labels, separator, filename, criteria=None,
                     selection=None):
    from .jobs import submit
    return submit("export", user, {"criteria": criteria, "selection": selection,
                                   "columns": columns, "sort": sort,
                                   "labels": labels, "separator": separator,
                                   "filename": filename}, total=total)


# --- Periodic -----------------------------------------------------------------------------------

@queue.periodic_task(crontab(minute="*"))
def recover_jobs_every_minute():
    """Jobs whose worker died go back on the queue (a consumer also does it at start)."""
    with database.connection_context():
        recover_jobs()


@queue.periodic_task(crontab(minute="17", hour="3"))
def purge_finished_jobs():
    """Finished jobs and their files go after a week."""
    with database.connection_context():
        old = Job.select(Job.id).where(Job.state.not_in(("queued", "running")),
                                       Job.finished_at < now() - KEEP_FINISHED)
        Job.delete().where(Job.id.in_(old)).execute()


@queue.periodic_task(crontab(minute="41", hour="3"))
def purge_deleted_records():
    """R27: contacts and companies deleted more than 30 days ago go for good."""
    with database.connection_context():
        contacts, companies = purge_deleted()
    if contacts or companies:
        log.info("purged %d deleted contacts and %d deleted companies", contacts, companies)
# --- Webhooks (R31) ------------------------------------------------------------------------------
# A change is sent within a second or two: the commit that writes its History
# row puts a run on the queue (`wake_webhooks`). At most one such run waits on
# the queue at a time (the WAKE key, dropped when a run starts, so a change
# committed during a run wakes the next one). The run every minute is the
# backstop and sends the retries whose delay is over.

WAKE = "webhooks-wake"


def run_webhooks():
    """Queue the new history rows as deliveries and send what is due (each subscription
    by one worker at a time: models.webhooks leases it). When another worker holds a
    subscription, come back in a second: what was just committed may be behind it."""
    from .webhooks import collect_events, deliver_due, webhooks_busy
    with database.connection_context():
        queue.delete(WAKE)
        collect_events()
        deliver_due()
        if webhooks_busy() and queue.put_if_empty(WAKE, 1):
            webhooks_now.schedule(delay=1)


def wake_webhooks():
    """After a commit that wrote History rows: a run at once, when anyone subscribes."""
    from .webhooks import webhooks_active
    try:
        if webhooks_active() and queue.put_if_empty(WAKE, 1):
            webhooks_now()
    except Exception:  # noqa: BLE001 - the change is committed; the minute's run sends it
        log.exception("Could not queue the webhook deliveries")


on_history_committed(wake_webhooks)


@queue.periodic_task(crontab(minute="*"))
def webhooks_every_minute():
    """Every minute: refused deliveries again when their delay is over, and anything
    a wake-up missed."""
    run_webhooks()


@queue.task()
def webhooks_now():
    """At once: after a change, or a "send test" from Settings."""
    run_webhooks()


# --- Reminders (R26) --------------------------------------------------------------------------

def run_reminders(digests=True):
    """Make the digests that are due, then send (or keep in the outbox) waiting mails."""
    from .reminders import send_due_digests, send_pending
    with database.connection_context():
        if digests:
            send_due_digests()
        send_pending()


@queue.periodic_task(crontab(minute="*"))
def reminders_every_minute():
    """Every minute: digests whose time has come, and mails not sent yet (again)."""
    run_reminders()


@queue.task()
def send_mails_now():
    """At once: the mails of an assignment just made."""
    run_reminders(digests=False)
