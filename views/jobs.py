"""Jobs: the long work a user started (bulk updates, imports, large exports), with a
progress bar that polls, a report, a cancel button and, for an export, the file.

Their owner sees their jobs; admins see everyone's. While no job worker is
running the page says so instead of showing a bar that never moves.
"""
import os
import threading

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import LeadStatus, RuleViolation, User
from models.bulk import BulkReport
from models.imports import ImportJob
from models.jobs import (bind_queue, cancel_job, job_file, start_consumer, visible_job,
                         visible_jobs, workers_alive)

from .common import render, rule_message
from .errors import error_response
from .search import BulkOutcome, attachment

bp = Blueprint("jobs", __name__)


def job_or_404(job_id):
    job = visible_job(job_id, current_user)
    if job is None:
        abort(404)
    return job


def job_context(job):
    """What the progress block and the report need."""
    results = job.results
    message, params = job.failure
    return dict(job=job, workers_alive=job.active and workers_alive(),
                bulk=bulk_outcome(job, results) if job.kind == "bulk" else None,
                imported=ImportJob.get_or_none(ImportJob.id == job.subject)
                if job.kind == "import" else None,
                failure=gettext(message, **params) if message else "")


def bulk_outcome(job, results):
    """A bulk job's report as the search screen shows one."""
    params = job.parameters
    model = LeadStatus if params["action"] == "status" else User
    target = model.get_or_none(model.id == params.get("target")) if params.get("target") \
        else None
    return BulkOutcome(params["action"], target, BulkReport.from_dict(results))


@bp.get("/jobs")
@login_required
def index():
    """The latest jobs: yours, or everyone's for an admin."""
    jobs = list(visible_jobs(current_user))
    return render("jobs/index.html", jobs=jobs,
                  workers_alive=any(j.active for j in jobs) and workers_alive())


@bp.get("/jobs/<int:job_id>")
@login_required
def show(job_id):
    """A job's progress (polled while it runs), then its report."""
    return render("jobs/show.html", "progress", **job_context(job_or_404(job_id)))


@bp.post("/jobs/<int:job_id>/cancel")
@login_required
def cancel(job_id):
    """Stop a job: at once while it waits, after the chunk in hand when it runs."""
    job = job_or_404(job_id)
    try:
        job = cancel_job(job, current_user._get_current_object())
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    if not request.headers.get("HX-Request"):
        return redirect(url_for("jobs.show", job_id=job.id))
    return render("jobs/show.html", "progress", **job_context(job))


@bp.get("/jobs/<int:job_id>/download")
@login_required
def download(job_id):
    """The file a finished export job made."""
    job = job_or_404(job_id)
    if job.kind != "export" or job.state != "done":
        abort(404)
    response = Response(job_file(job), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = attachment(job.results.get("filename",
                                                                         "export.csv"))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.record_once
def bind_the_queue(state):
    """The queue follows the app's database; under `flask run` (unless
    TAVLA_JOB_WORKERS=0) a consumer runs inside the server process, started with
    its first request so that other commands never start one."""
    app = state.app
    bind_queue(app.config["DATABASE_URL"])
    threads = app.config.get("JOB_WORKERS")
    if threads is None:
        threads = 2 if os.environ.get("FLASK_RUN_FROM_CLI") == "true" else 0
    if not threads:
        return
    started, lock = [], threading.Lock()

    @app.before_request
    def start_embedded_consumer():
        if started:
            return
        with lock:
            if not started:
                started.append(start_consumer(workers=int(threads)))
                current_app.logger.info("Job worker: %s threads in this process", threads)
