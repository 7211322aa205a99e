"""The jobs screens: a large export as a job with its download, who sees which job,
cancel, and forged or foreign job ids."""
import time

from models.jobs import Job

from .conftest import HTMX, sign_in


def wait_for_job(job_id, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = Job.get_by_id(job_id)
        if not job.active:
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_a_large_export_runs_as_a_job_and_offers_its_file(client, sample, job_worker):
    """POST (offered above the direct size) starts the job; its page links the file."""
    response = client.post("/search/export.csv?entity=contacts&f0=name&o0=contains&v0=a"
                           "&cols=1&col=company&col=status&sep=semicolon")
    job = Job.get()
    assert response.status_code == 302 and response.location == f"/jobs/{job.id}"
    job = wait_for_job(job.id)
    assert job.state == "done", job.error
    page = client.get(f"/jobs/{job.id}").data.decode()
    assert f"/jobs/{job.id}/download" in page and "rows exported" in page
    download = client.get(f"/jobs/{job.id}/download")
    text = download.data.decode("utf-8-sig")
    assert download.headers["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    assert text.splitlines()[0] == "Name;Company;Lead status"
    assert "Anna Berg;Fjällbo AB;Open" in text


def test_jobs_are_seen_by_their_owner_and_admins_only(app, client, admin_client, sample,
                                                      users):
    client.post("/search/export.csv?entity=contacts")
    job = Job.get()
    assert "CSV export #" in client.get("/jobs").data.decode()
    assert "CSV export #" in admin_client.get("/jobs").data.decode()
    manager = sign_in(app.test_client(), "manager@example.test")
    assert "CSV export #" not in manager.get("/jobs").data.decode()
    assert manager.get(f"/jobs/{job.id}").status_code == 404
    assert manager.post(f"/jobs/{job.id}/cancel").status_code == 404
    assert client.get("/jobs/424242").status_code == 404


def test_a_waiting_job_says_no_worker_runs_and_can_be_cancelled(client, sample):
    client.post("/search/export.csv?entity=contacts")
    job = Job.get()
    fragment = client.get(f"/jobs/{job.id}", headers=HTMX).data.decode()
    assert "No job worker is running" in fragment and 'hx-trigger="every 1s"' in fragment
    fragment = client.post(f"/jobs/{job.id}/cancel", headers=HTMX).data.decode()
    assert "Cancelled" in fragment and "hx-trigger" not in fragment
    assert Job.get_by_id(job.id).state == "cancelled"
    again = client.post(f"/jobs/{job.id}/cancel", headers=HTMX)
    assert again.status_code == 409
    assert client.get(f"/jobs/{job.id}/download").status_code == 404
