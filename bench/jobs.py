"""Long work timed end to end through the job queue, with the consumer as its own
process (`flask --app app worker`, as the README runs it in production):

- "bulk update: lead status of all contacts": a manager posts the search form's
  bulk update for every contact; timed from the POST until the job is done;
- "drop while the bulk job runs": meanwhile a rep drags a card back and forth
  through the test client; every drop's server time (accepted or refused as
  stale when the job changed the card first) while the job runs;
- "import of N rows": a manager uploads a CSV file of N new leads (Windows-1252,
  semicolons, two contacts per company, a round-robin flow), maps it and
  starts it; timed from the upload until the import is done.

These write: the bulk update sets a status on the whole dataset, the import
adds companies and contacts (their e-mail addresses are new in every run).
bench/run.py times them after every page.
"""
import io
import os
import tempfile
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

from peewee import fn

import models
from models.distribution import save_flow
from models.imports import ImportJob
from models.jobs import Job
from models.schema import POTENTIAL, Category, Company, Contact, LeadStatus, User
from models.search import Criteria

from .harness import REPO, log, percentile

HTMX = {"HX-Request": "true"}


def start_worker(url, log_path):
    env = {**os.environ, "DATABASE_URL": url, "TAVLA_SECRET_KEY": "bench"}
    env.pop("TAVLA_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                            cwd=REPO, env=env, stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT)


def stop_worker(worker):
    worker.send_signal(signal.SIGINT)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def wait_until(condition, seconds=600, pause=0.02):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with models.database.connection_context():
            value = condition()
        if value:
            return value
        time.sleep(pause)
    raise AssertionError("the job did not finish in time")


def finished(model, row_id, running):
    def check():
        row = model.get_by_id(row_id)
        return row if row.state not in running else None
    return check


class Drops:
    """A rep moving one card between two columns until stopped, timing each drop."""

    def __init__(self, client):
        self.client, self.samples, self.stopping = client, [], threading.Event()
        with models.database.connection_context():
            rep = User.get(User.email == "rep@tavla.test")
            # A card whose lead status is active (R8), so its drops are accepted.
            self.card = (Contact.select().join(Company).join(Category)
                         .where(Contact.owner == rep, Category.group == POTENTIAL,
                                Category.lead_status_enabled == True)  # noqa: E712
                         .order_by(Contact.id).first())
            self.columns = [s.id for s in LeadStatus.ordered()][:2]
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        turn = 0
        while not self.stopping.is_set():
            with models.database.connection_context():
                version = Contact.get_by_id(self.card.id).version
            started = time.perf_counter()
            response = self.client.post("/board/move", headers=HTMX, data={
                "contact": self.card.id, "status": self.columns[turn % 2],
                "version": version})
            response.get_data()
            self.samples.append(((time.perf_counter() - started) * 1000,
                                 response.status_code))
            turn += 1


def bulk_update(manager_client, rep_client):
    """The bulk update of every contact's lead status as a job, and drops meanwhile."""
    with models.database.connection_context():
        total = Contact.select().count()
        # The status fewest contacts have, so most of them change in every run.
        counts = {s.id: 0 for s in LeadStatus.ordered()}
        for status_id, n in (Contact.select(Contact.lead_status, fn.COUNT(Contact.id))
                             .group_by(Contact.lead_status).tuples()):
            if status_id in counts:
                counts[status_id] = n
        target = min(counts, key=counts.get)
    drops = Drops(rep_client)
    started = time.perf_counter()
    response = manager_client.post("/search/bulk", headers=HTMX, data={
        "criteria": Criteria().to_json(), "action": f"status:{target}", "scope": "all"})
    assert response.status_code == 200, response.status_code
    drops.thread.start()
    with models.database.connection_context():
        job = Job.select().order_by(Job.id.desc()).get()
    job = wait_until(finished(Job, job.id, ("queued", "running")))
    seconds = time.perf_counter() - started
    drops.stopping.set()
    drops.thread.join()
    assert job.state == "done", job.error
    report = job.results
    times = [ms for ms, _ in drops.samples]
    return {
        "seconds": round(seconds, 2), "contacts": total, "updated": report["updated"],
        "unchanged": report["unchanged"], "skipped": report["skipped"],
        "target_s": 10, "pass": seconds < 10,
    }, {
        "samples": len(times), "accepted": sum(1 for _, code in drops.samples if code == 200),
        "refused_stale": sum(1 for _, code in drops.samples if code == 409),
        "other": sum(1 for _, code in drops.samples if code not in (200, 409)),
        "p50_ms": round(percentile(times, 0.5), 1) if times else None,
        "p95_ms": round(percentile(times, 0.95), 1) if times else None,
        "target_p95_ms": 500, "pass": bool(times) and percentile(times, 0.95) < 500,
    }


def import_file(rows, stamp):
    lines = ["Företag;Förnamn;Efternamn;E-post;Telefon;Ort;utm_source;utm_campaign"]
    lines += [f"Import {stamp} {n // 2} AB;Åsa{n};Öberg;asa{n}@imp{stamp}-{n // 2}.se;"
              f"070-123 {n % 100};Göteborg;linkedin;spring" for n in range(rows)]
    return "\r\n".join(lines).encode("cp1252")


def import_rows(manager_client, rows):
    """An import of `rows` new leads, from the upload until it is done."""
    stamp = int(time.time())
    with models.database.connection_context():
        reps = [u.id for u in User.select().where(User.role == "rep",
                                                  User.active == True)]  # noqa: E712
        flow = save_flow(None, models.Actor(User.get(User.email == "admin@tavla.test")),
                         f"Bench {stamp}", "round_robin", True, reps)
    data = import_file(rows, stamp)
    started = time.perf_counter()
    response = manager_client.post("/import/", data={"file": (io.BytesIO(data), "bench.csv")},
                                   content_type="multipart/form-data")
    assert response.status_code == 302, response.status_code
    job_id = int(response.location.split("/")[-2])
    with models.database.connection_context():
        mapping = ImportJob.get_by_id(job_id).columns  # guessed from the headers
    form = {f"column-{index}": mapping.get(header, "") for index, header in
            enumerate(["Företag", "Förnamn", "Efternamn", "E-post", "Telefon", "Ort",
                       "utm_source", "utm_campaign"])}
    form["flow"] = str(flow.id)
    response = manager_client.post(f"/import/{job_id}/mapping", data=form)
    assert response.status_code == 302, response.status_code
    response = manager_client.post(f"/import/{job_id}/run")
    assert response.status_code == 302, response.status_code
    imported = wait_until(finished(ImportJob, job_id, ("queued", "checking", "saving")))
    seconds = time.perf_counter() - started
    assert imported.state == "done", imported.error
    return {"seconds": round(seconds, 2), "rows": rows, "created": imported.created_count,
            "target_s": 10, "pass": seconds < 10}


def time_jobs(url, manager_client, rep_client, import_rows_count, log_dir):
    """Both rows, with a consumer process started for them and stopped after (its log
    goes to the system's temporary folder)."""
    worker = start_worker(url, Path(tempfile.gettempdir()) / "tavla-bench-worker.log")
    try:
        log("timing the bulk update through the job ...")
        bulk, drops = bulk_update(manager_client, rep_client)
        log("timing the import through the job ...")
        imported = import_rows(manager_client, import_rows_count)
    finally:
        stop_worker(worker)
    return {"bulk update: lead status of all contacts": bulk,
            "drop while the bulk job runs": drops,
            f"import of {import_rows_count:,} rows": imported}
