"""Jobs: a bulk update as a job, stopped cleanly by what changes while it runs."""
import pytest

from models import Actor, Category, Contact, History, LeadStatus, User
from models import create_company, create_contact
from models.jobs import Job, bind_queue, cancel_job, visible_jobs, workers_alive
from models.search import Criteria
from models.selections import delete_selection, save_selection
from models.tasks import execute, start_bulk_job, start_export_job


@pytest.fixture
def manager(db, database_url):
    bind_queue(database_url)
    return User.create(email="maja@example.test", name="Maja", password_hash="-",
                       role="manager")


@pytest.fixture
def companies(manager):
    """Four lead companies with two contacts each."""
    for number in range(4):
        company = create_company(Actor(), name=f"Bolag {number}",
                                 category=Category.get(name="Lead"))
        for person in range(2):
            create_contact(company, Actor(), first_name="P", last_name=f"{number}{person}")


def nurture():
    return LeadStatus.get(LeadStatus.name == "Nurture")


def bulk_job(manager, chunk=1, **source):
    source = source or {"criteria": Criteria().to_json()}
    return start_bulk_job(manager, "status", nurture().id, Contact.select().count(),
                          chunk=chunk, **source)


def nurtured():
    return Contact.select().where(Contact.lead_status == nurture()).count()


def test_a_bulk_job_runs_in_chunks_and_reports(manager, companies):
    job = bulk_job(manager, chunk=3)
    assert job.state == "queued" and not workers_alive()
    execute(job.id)
    job = Job.get_by_id(job.id)
    assert (job.state, job.done, job.total, job.results["updated"]) == ("done", 8, 8, 8)
    assert nurtured() == 8
    execute(job.id)  # put on the queue twice: it runs once
    assert History.select().where(History.to_status == nurture()).count() == 8


def stop_after_first_chunk(monkeypatch, action):
    """Make `action` happen between the first and the second chunk of a job."""
    import models.tasks
    real = models.tasks.Run.check
    calls = []

    def check(run):
        if len(calls) == 1:
            action()
        calls.append(1)
        return real(run)
    monkeypatch.setattr(models.tasks.Run, "check", check)


@pytest.mark.parametrize("change, message", [
    (lambda: LeadStatus.update(retired=True).where(LeadStatus.name == "Nurture").execute(),
     "is retired"),
    (lambda: User.update(active=False).where(User.email == "maja@example.test").execute(),
     "was deactivated"),
])
def test_a_change_while_the_job_runs_stops_it_with_whole_chunks_done(manager, companies,
                                                                     monkeypatch, change,
                                                                     message):
    """A status retired or the user deactivated mid-job: a clear message, the chunk done
    before it stays, nothing of the next one is written."""
    import models.tasks  # noqa: F401
    stop_after_first_chunk(monkeypatch, change)
    job = bulk_job(manager)
    execute(job.id)
    job = Job.get_by_id(job.id)
    failure, params = job.failure
    assert job.state == "failed" and message in failure % params
    assert nurtured() == 2 and job.results["updated"] == 2


def test_a_selection_deleted_while_the_job_runs_stops_it(manager, companies, monkeypatch):
    import models.tasks  # noqa: F401
    selection = save_selection(manager, "Alla", Criteria())
    stop_after_first_chunk(monkeypatch, lambda: delete_selection(selection, manager))
    job = bulk_job(manager, selection=selection.id)
    execute(job.id)
    job = Job.get_by_id(job.id)
    assert job.state == "failed" and "selection was deleted" in job.error
    assert nurtured() == 2


def owner_job(manager, rep):
    return start_bulk_job(manager, "owner", rep.id, Contact.select().count(), chunk=3,
                          criteria=Criteria().to_json())


def test_r26_the_new_owner_hears_once_of_a_whole_bulk_job(manager, companies):
    """One notice and one mail when the job ends, however many chunks it wrote."""
    import json

    from models.reminders import Mail, Notice
    rep = User.create(email="rep@example.test", name="Rut", password_hash="-")
    job = owner_job(manager, rep)
    execute(job.id)
    assert Job.get_by_id(job.id).state == "done"
    assert Contact.select().where(Contact.owner == rep).count() == 8
    notice = Notice.get()
    assert (notice.user_id, json.loads(notice.payload)["count"]) == (rep.id, 8)
    assert Mail.select().count() == 1


def test_r26_a_stopped_bulk_job_tells_the_owner_of_what_it_did(manager, companies,
                                                               monkeypatch):
    import json

    from models.reminders import Notice
    rep = User.create(email="rep@example.test", name="Rut", password_hash="-")
    stop_after_first_chunk(
        monkeypatch, lambda: User.update(active=False).where(User.id == manager.id).execute())
    job = owner_job(manager, rep)
    execute(job.id)
    assert Job.get_by_id(job.id).state == "failed"
    notice = Notice.get()
    assert (notice.user_id, json.loads(notice.payload)["count"]) == (rep.id, 3)


def test_a_cancelled_job_stops_and_others_do_not_see_it(manager, companies):
    job = bulk_job(manager)
    cancel_job(job, manager)
    execute(job.id)
    assert Job.get_by_id(job.id).state == "cancelled" and nurtured() == 0
    other = User.create(email="rep@example.test", name="Rep", password_hash="-")
    assert list(visible_jobs(other)) == [] and len(list(visible_jobs(manager))) == 1


def test_an_export_job_makes_the_file(manager, companies):
    from models.jobs import job_file
    job = start_export_job(manager, 8, ["company", "status"], "name",
                           {"header": ["Name", "Company", "Lead status"],
                            "statuses": {str(LeadStatus.initial().id): "Öppen"},
                            "groups": {}},
                           ";", "kontakter.csv", criteria=Criteria().to_json())
    execute(job.id)
    job = Job.get_by_id(job.id)
    text = b"".join(job_file(job)).decode("utf-8-sig")
    assert job.state == "done" and text.splitlines()[0] == "Name;Company;Lead status"
    assert len(text.splitlines()) == 9 and "Bolag 0;Öppen" in text
