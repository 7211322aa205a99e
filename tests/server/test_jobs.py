"""Jobs on the real queue with the consumer as its own process (`flask --app app worker`):
a consumer killed in the middle of a job, and the job goes on after a restart."""
import os
import signal
import subprocess
import sys
import time

import models
from models import Contact, History, LeadStatus, User
from models.jobs import Job
from models.search import Criteria
from models.tasks import start_bulk_job

from .conftest import ROOT, SECRET_KEY


def consumer(database_url, log_path):
    env = {**os.environ, "DATABASE_URL": database_url, "TAVLA_SECRET_KEY": SECRET_KEY}
    env.pop("TAVLA_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                            cwd=ROOT, env=env, stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT)


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with models.database.connection_context():
            value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("waited in vain")


def test_a_consumer_killed_mid_job_and_the_job_goes_on_after_a_restart(demo_database,
                                                                       tmp_path):
    """The consumer dies with SIGKILL while a bulk update is half done: whole chunks
    only are written; the next consumer puts the job back on the queue and it goes on
    from its cursor, every contact changed once (one history row each)."""
    db = models.bind_database(demo_database)
    models.jobs.bind_queue(demo_database)
    with db.connection_context():
        manager = User.get(User.email == "manager@tavla.test")
        status = LeadStatus.get(LeadStatus.name == "Nurture")
        total = Contact.select().count()
        job = start_bulk_job(manager, "status", status.id, total,
                             criteria=Criteria().to_json(), chunk=1)
    first = consumer(demo_database, tmp_path / "consumer-1.log")
    try:
        wait_for(lambda: Job.get_by_id(job.id).done > 0)
        # Freeze the consumer where it is (most likely inside a chunk's transaction), then
        # kill it: no competing for the database, so it cannot run to the end meanwhile.
        first.send_signal(signal.SIGSTOP)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    with db.connection_context():
        stopped = Job.get_by_id(job.id)
        changed_then = History.select().where(History.to_status == status,
                                              History.source == "bulk").count()
    assert stopped.state == "running" and 0 < stopped.done < total
    assert changed_then > 0

    second = consumer(demo_database, tmp_path / "consumer-2.log")
    try:
        finished = wait_for(lambda: (lambda j: j if not j.active else None)(
            Job.get_by_id(job.id)))
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
    with db.connection_context():
        assert finished.state == "done", (finished.error, (tmp_path / "consumer-2.log")
                                          .read_text())
        assert finished.attempts == 2
        report = finished.results
        changes = list(History.select(History.contact).where(History.to_status == status,
                                                             History.source == "bulk")
                       .tuples())
        assert len(changes) == len({c for c, in changes}) == report["updated"]
        assert report["updated"] + report["unchanged"] + report["skipped"] == total
        # R8: every contact whose lead status is active has it now, and only those.
        active = (Contact.select(Contact.lead_status).join(models.Company)
                  .join(models.Category)
                  .where(models.Category.group == "potential",
                         models.Category.lead_status_enabled == True))  # noqa: E712
        assert {s for s, in active.tuples()} == {status.id}
        assert active.count() == report["updated"] + report["unchanged"]
