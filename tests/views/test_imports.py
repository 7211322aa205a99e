"""The CSV import screens: upload, mapping, preview, progress and report (admins, managers)."""
import codecs
import io
import re
import time

import pytest

import models
from app import create_app
from models import Actor, Company, Contact
from models.distribution import save_flow
from models.imports import ImportJob, ImportMapping
from models.selections import Selection, SelectionMember

from .conftest import HTMX, PASSWORD, sign_in

# Semicolons and Windows-1252, as a Nordic Excel saves "CSV (semicolon separated)".
NORDIC = ("Företag;Förnamn;Efternamn;E-post;Telefon;utm_source\r\n"
          "Fjällbo AB;Åsa;Öberg;asa@fjallbo.se;070-123 45 67;linkedin\r\n"
          "Kundgården AB;Bo;Ek;bo@@kund;;\r\n"
          "Nordljus AS;Øystein;Ås;oystein@nordljus.no;;google\r\n")


@pytest.fixture
def manager_client(app, users):
    return sign_in(app.test_client(), "manager@example.test")


def upload(client, data, filename="leads.csv"):
    return client.post("/import/", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def mapping_form(page):
    """The mapping form's current choices, as the browser would post them."""
    data = {}
    for name, body in re.findall(r'<select id="[^"]*" name="(column-\d+|category|flow)">(.*?)'
                                 r'</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def wait_until_finished(job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ImportJob.get_by_id(job_id)
        if not job.running:
            return job
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def test_manager_imports_a_nordic_file_step_by_step(manager_client, users, job_worker):
    """Upload → guessed mapping → preview with row problems → a job on the queue → report."""
    flow = save_flow(None, Actor(users["admin"]), "Nordics", "round_robin", True,
                     [users["rep"].id])
    response = upload(manager_client, NORDIC.encode("cp1252"))
    job = ImportJob.get()
    assert response.status_code == 302 and response.location == f"/import/{job.id}/mapping"
    page = manager_client.get(response.location).data.decode()
    assert "Windows-1252" in page and "semicolon" in page and "3 rows" in page
    assert "Fjällbo AB" in page  # first values of each column
    form = mapping_form(page)
    assert form["column-0"] == "company_name" and form["column-3"] == "email"
    form.update(flow=str(flow.id), remember_as="Mässlista")
    response = manager_client.post(f"/import/{job.id}/mapping", data=form)
    assert response.status_code == 302 and response.location == f"/import/{job.id}/preview"
    assert ImportMapping.get(name="Mässlista").columns["Företag"] == "company_name"

    page = manager_client.get(response.location).data.decode()
    assert "bo@@kund is not a valid e-mail address." in page
    assert "Owners of new contacts: distribution flow Nordics." in page
    assert Contact.select().count() == 0  # the preview writes nothing

    response = manager_client.post(f"/import/{job.id}/run")
    assert response.status_code == 302 and response.location == f"/import/{job.id}"
    job = wait_until_finished(job.id)
    assert job.state == "done", job.error
    page = manager_client.get(f"/import/{job.id}").data.decode()
    assert re.search(r'data-count="created">2<', page)
    assert re.search(r'data-count="refused">1<', page)
    assert "bo@@kund is not a valid e-mail address." in page and 'hx-trigger="every 1s"' not in page
    assert {c.owner_id for c in Contact.select()} == {users["rep"].id}
    assert Contact.get(Contact.email == "asa@fjallbo.se").lead_status.name == "Open"
    # The report links to what it wrote: a static selection of the manager's.
    selection = Selection.get_by_id(job.selection_id)
    assert (selection.owner_id, selection.kind) == (users["manager"].id, "static")
    assert f'href="/selections/{selection.id}"' in page
    members = {m.contact_id for m in SelectionMember.select().where(
        SelectionMember.selection == selection.id)}
    assert members == {c.id for c in Contact.select()}
    # Starting it again does nothing: one run per job.
    manager_client.post(f"/import/{job.id}/run")
    assert Contact.select().count() == 2


def test_progress_fragment_polls_while_the_import_runs(manager_client):
    upload(manager_client, NORDIC.encode("utf-8"))
    job = ImportJob.get()
    job.state, job.processed_rows, job.heartbeat_at = "checking", 2, models.schema.now()
    job.save()
    fragment = manager_client.get(f"/import/{job.id}", headers=HTMX).data.decode()
    assert fragment.strip().startswith('<section id="import-progress"')
    assert 'hx-trigger="every 1s"' in fragment and 'value="2" max="3"' in fragment
    job.state = "saving"
    job.save()
    fragment = manager_client.get(f"/import/{job.id}", headers=HTMX).data.decode()
    assert "a part at a time" in fragment and "<progress" in fragment
    page = manager_client.get(f"/import/{job.id}").data.decode()
    assert "<html" in page and 'hx-trigger="every 1s"' in page


def test_without_a_job_worker_the_page_says_so(manager_client):
    """No consumer running: the progress says the job waits for one, not forever silent."""
    upload(manager_client, NORDIC.encode("utf-8"))
    job = ImportJob.get()
    page = manager_client.get(f"/import/{job.id}/mapping").data.decode()
    manager_client.post(f"/import/{job.id}/mapping", data=mapping_form(page))
    manager_client.post(f"/import/{job.id}/run")
    page = manager_client.get(f"/import/{job.id}").data.decode()
    assert "No job worker is running" in page and 'hx-trigger="every 1s"' in page
    assert Contact.select().count() == 0


def test_utf8_bom_with_commas_is_read_too(manager_client, job_worker):
    data = codecs.BOM_UTF8 + "Company,Name,E-mail\r\nFjällbo AB,Åsa Öberg,asa@fjallbo.se\r\n" \
        .encode("utf-8")
    upload(manager_client, data)
    job = ImportJob.get()
    page = manager_client.get(f"/import/{job.id}/mapping").data.decode()
    assert "UTF-8 (BOM)" in page and "comma" in page
    manager_client.post(f"/import/{job.id}/mapping", data=mapping_form(page))
    manager_client.post(f"/import/{job.id}/run")
    assert wait_until_finished(job.id).state == "done"
    assert Contact.get().full_name == "Åsa Öberg"


@pytest.mark.parametrize("data, filename, message", [
    (b"", "empty.csv", "Choose a CSV file."),
    (b"PK\x03\x04xlsx", "leads.xlsx", "spreadsheet file, not CSV"),
    (b"Company;City\n", "header.csv", "at least one row of data"),
])
def test_bad_files_are_refused_with_a_message(manager_client, data, filename, message):
    response = upload(manager_client, data, filename) if data else \
        manager_client.post("/import/", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.data.decode()
    assert ImportJob.select().count() == 0


def test_mapping_without_a_name_or_company_column_is_refused(manager_client):
    upload(manager_client, NORDIC.encode("utf-8"))
    job = ImportJob.get()
    response = manager_client.post(f"/import/{job.id}/mapping", data={"column-5": "utm_source"})
    assert response.status_code == 422
    assert "Choose at least a column" in response.data.decode()
    response = manager_client.post(f"/import/{job.id}/mapping",
                                   data={"column-0": "email", "column-3": "email"})
    assert "Contact: e-mail is chosen for more than one column." in response.data.decode()


def test_remembered_mapping_is_offered_for_the_next_file(manager_client):
    upload(manager_client, NORDIC.encode("utf-8"))
    job = ImportJob.get()
    manager_client.post(f"/import/{job.id}/mapping", data={
        "column-0": "company_name", "column-3": "email", "remember_as": "Minimal"})
    upload(manager_client, NORDIC.encode("cp1252"))
    second = ImportJob.select().order_by(ImportJob.id.desc()).get()
    form = mapping_form(manager_client.get(f"/import/{second.id}/mapping").data.decode())
    assert (form["column-0"], form["column-1"], form["column-3"]) == ("company_name", "",
                                                                      "email")


def test_reps_may_not_import(client, users):
    assert client.get("/import/").status_code == 403
    assert upload(client, NORDIC.encode("utf-8")).status_code == 403
    assert ImportJob.select().count() == 0
    assert "/import/" not in client.get("/companies").data.decode()


def test_admins_and_managers_see_the_import_link(admin_client, manager_client):
    assert 'href="/import/"' in admin_client.get("/companies").data.decode()
    assert 'href="/import/"' in manager_client.get("/companies").data.decode()
    assert admin_client.get("/import/").status_code == 200


def test_a_managers_job_is_not_shown_to_another_manager(app, manager_client, users):
    upload(manager_client, NORDIC.encode("utf-8"))
    job = ImportJob.get()
    from .conftest import make_user
    make_user("other@example.test", "manager")
    other = sign_in(app.test_client(), "other@example.test")
    assert other.get(f"/import/{job.id}/mapping").status_code == 404
    assert other.get(f"/import/{job.id}").status_code == 404
    assert "leads.csv" not in other.get("/import/").data.decode()


@pytest.fixture
def csrf_manager(database_url, users):
    """A signed-in manager on an app with CSRF protection on, and the page's token."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "tests", "TESTING": True})
    client = app.test_client()
    page = client.get("/login").data.decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": "manager@example.test",
                                           "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/import/").data.decode()
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_upload_of_several_megabytes_passes_the_256_kb_app_limit(csrf_manager):
    """Only the upload raises the body limit (10 MB); the CSRF check still runs on it."""
    client, token = csrf_manager
    rows = "".join(f"Firma {n} AB;p{n}@firma{n}.se\r\n" for n in range(60_000))
    data = ("Company;E-mail\r\n" + rows).encode()
    assert len(data) > 1024 * 1024
    response = client.post("/import/", data={"file": (io.BytesIO(data), "big.csv"),
                                             "csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.data[:500]
    assert ImportJob.get().total_rows == 60_000


def test_upload_without_the_csrf_token_is_refused(csrf_manager):
    client, _ = csrf_manager
    response = client.post("/import/", data={"file": (io.BytesIO(b"a;b\n1;2\n"), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert ImportJob.select().count() == 0


def test_upload_over_10_mb_is_refused(csrf_manager):
    client, token = csrf_manager
    data = b"Company;E-mail\r\n" + b"x" * (10 * 1024 * 1024 + 10)
    response = client.post("/import/", data={"file": (io.BytesIO(data), "huge.csv"),
                                             "csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code in (413, 422)
    assert "larger than 10 MB" in response.data.decode()
    assert ImportJob.select().count() == 0


def test_other_endpoints_keep_the_small_body_limit(admin_client, sample):
    response = admin_client.post(f"/companies/{sample['lead'].id}/edit",
                                 data={"name": "x" * (300 * 1024)})
    assert response.status_code == 413
    assert Company.get_by_id(sample["lead"].id).name == "Fjällbo AB"
