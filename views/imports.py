"""Import: a spreadsheet export of companies and contacts, in four steps (admins, managers).

Upload → map the columns (a mapping can be remembered) → preview the first
rows with their problems → import. The import runs as a job on the queue
(models/jobs.py) and writes its progress to its rows; the status page polls
it with htmx every second, so the request that starts it answers at once and
a reload or another server process shows the same progress.

The app refuses bodies over MAX_CONTENT_LENGTH (256 KB) before any view
runs, and the global CSRF check reads the body. Only the upload raises its
own limit, to 10 MB: it is exempt from the global check, raises
`request.max_content_length` for itself and then runs the same CSRF check
by hand. Every other endpoint keeps the small app-wide limit.
"""
from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from models import Actor, Category, RuleViolation
from models.distribution import active_flows
from models.imports import (IMPORT_FIELDS, MAX_BYTES, PREVIEW_ROWS, ImportJob, ImportMapping,
                            create_job, job_of_import, job_table, preview, recent_jobs,
                            saved_mapping_for, saved_mappings, set_mapping, start_import)
from models.jobs import workers_alive
from models.selections import visible_selection
from models.webforms import default_lead_category

from .common import get_or_404, int_arg, render, rule_message

bp = Blueprint("imports", __name__, url_prefix="/import")
ROLES = ("admin", "manager")
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024  # the file and the multipart envelope around it


@bp.before_request
def require_admin_or_manager():
    """Guard every route, fragments included: sign-in, then the admin or manager role."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if current_user.role not in ROLES:
        abort(403)


@bp.record_once
def exempt_upload_from_global_csrf(state):
    state.app.extensions["csrf"].exempt(f"{__name__}.upload")


def job_or_404(job_id):
    """A job of the signed-in user; admins see everyone's."""
    job = get_or_404(ImportJob, job_id)
    if not current_user.is_admin and job.created_by_id != current_user.id:
        abort(404)
    return job


def describe(message, params):
    """A row problem in the user's language; a field's code becomes its label."""
    params = dict(params)
    if "target" in params:
        params["target"] = gettext(IMPORT_FIELDS.get(params["target"], params["target"]))
    return gettext(message, **params)


def upload_page(status=200, error=None):
    return render("imports/index.html", status=status, jobs=list(recent_jobs(current_user)),
                  error=error, limit_mb=MAX_BYTES // (1024 * 1024))


@bp.get("/")
def index():
    """Step 1: upload a CSV file; the latest imports below."""
    return upload_page()


@bp.post("/")
def upload():
    """Keep the uploaded file, recognise its encoding and delimiter, guess the mapping."""
    request.max_content_length = UPLOAD_LIMIT
    try:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            current_app.extensions["csrf"].protect()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return upload_page(413, gettext("The file is larger than %(limit)s MB.",
                                        limit=MAX_BYTES // (1024 * 1024)))
    if upload is None or not upload.filename:
        return upload_page(422, gettext("Choose a CSV file."))
    try:
        job = create_job(current_user._get_current_object(), upload.filename,
                         upload.read(MAX_BYTES + 1))
    except RuleViolation as error:
        return upload_page(422, rule_message(error))
    return redirect(url_for("imports.mapping", job_id=job.id))


def mapping_page(job, status=200, error=None, mapping=None, category_id=None, flow_id=None,
                 remember_as=""):
    headers, rows = job_table(job)
    examples = {header: [cells[index] for _, cells in rows[:3] if index < len(cells)]
                for index, header in enumerate(headers)}
    default_category = default_lead_category()
    return render("imports/mapping.html", status=status, job=job, headers=headers,
                  examples=examples, mapping=mapping if mapping is not None else job.columns,
                  fields=IMPORT_FIELDS, categories=list(Category.ordered()),
                  category_id=category_id or job.category_id
                  or (default_category.id if default_category else None),
                  flows=list(active_flows()), flow_id=flow_id or job.flow_id,
                  saved=list(saved_mappings()), suggested=saved_mapping_for(headers),
                  remember_as=remember_as, error=error)


@bp.route("/<int:job_id>/mapping", methods=["GET", "POST"])
def mapping(job_id):
    """Step 2: which column holds which field, the new companies' category, the flow."""
    job = job_or_404(job_id)
    if job.state not in ("uploaded", "mapped"):
        return redirect(url_for("imports.show", job_id=job.id))
    if request.method == "GET":
        saved_id = int_arg("saved")
        saved = ImportMapping.get_or_none(ImportMapping.id == saved_id) if saved_id else None
        return mapping_page(job, mapping=saved.columns if saved else None)
    headers, _ = job_table(job)
    chosen = {header: request.form.get(f"column-{index}", "")
              for index, header in enumerate(headers)}
    category_id = int_arg("category", values=request.form)
    flow_id = int_arg("flow", values=request.form) or None
    remember_as = request.form.get("remember_as", "")
    try:
        set_mapping(job, Actor(current_user._get_current_object()), chosen, category_id,
                    flow_id, remember_as)
    except RuleViolation as error:
        params = dict(error.params)
        if "target" in params:
            params["target"] = gettext(params["target"])
        return mapping_page(job, 422, gettext(error.message, **params), chosen, category_id,
                            flow_id, remember_as)
    return redirect(url_for("imports.preview_rows", job_id=job.id))


@bp.get("/<int:job_id>/preview")
def preview_rows(job_id):
    """Step 3: the first rows as they would be imported, each with its problems."""
    job = job_or_404(job_id)
    if job.state != "mapped":
        return redirect(url_for("imports.show", job_id=job.id)
                        if job.state != "uploaded" else url_for("imports.mapping",
                                                                job_id=job.id))
    headers, rows = preview(job)
    return render("imports/preview.html", job=job, rows=rows, fields=IMPORT_FIELDS,
                  describe=describe, preview_rows=PREVIEW_ROWS,
                  category=Category.get_or_none(Category.id == job.category_id)
                  or default_lead_category(),
                  flow=job.flow)


@bp.post("/<int:job_id>/run")
def run(job_id):
    """Step 4: start the import; the status page shows its progress."""
    job = job_or_404(job_id)
    try:
        start_import(job, current_user._get_current_object())
    except RuleViolation:
        pass  # already running or done: the status page says which
    return redirect(url_for("imports.show", job_id=job.id))


@bp.get("/<int:job_id>")
def show(job_id):
    """The import's progress (polled while it runs), then its report."""
    job = job_or_404(job_id)
    if job.state in ("uploaded", "mapped"):
        return redirect(url_for("imports.mapping" if job.state == "uploaded"
                                else "imports.preview_rows", job_id=job.id))
    queued = job_of_import(job)
    selection = (visible_selection(job.selection_id, current_user)
                 if job.state == "done" and job.selection_id else None)
    return render("imports/show.html", "progress", job=job, describe=describe, queued=queued,
                  selection=selection,
                  workers_alive=queued is not None and queued.active and workers_alive())
