"""R29: a person's data exported and erased by an admin, both audited without it."""
import json

from peewee import fn

from models import AuditLog, Company, Contact, History, tally_counts
from models.webforms import WebForm, WebFormSubmission


def submission_of(contact):
    form = WebForm.create(name="Kontakt")
    return WebFormSubmission.create(form=form, contact=contact, company=contact.company_id,
                                    payload=json.dumps({"message": "Ring mig på 070-123"}),
                                    utm_source="nyhetsbrev", ip_hash="abc")


def exact_counts():
    rows = (Contact.select(Contact.owner, Contact.lead_status, Company.category,
                           fn.COUNT(Contact.id))
            .join(Company).group_by(Contact.owner, Contact.lead_status, Company.category))
    return {(o, s, c): n for o, s, c, n in rows.tuples()}


def test_r29_export_holds_everything_about_the_person(admin_client, sample):
    anna = sample["anna"]
    submission_of(anna)
    response = admin_client.get(f"/contacts/{anna.id}/personal-data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="person-{anna.id}.json"'
    data = response.get_json()
    assert data["schema"] == "tavla.person/1"
    assert (data["contact"]["first_name"], data["company"]["name"]) == ("Anna", "Fjällbo AB")
    assert data["related"]["web_form_submission"][0]["payload"] == \
        {"message": "Ring mig på 070-123"}
    assert data["related"]["history"]  # her lead status and owner rows
    page = admin_client.get(f"/contacts/{anna.id}/personal-data").data.decode()
    assert "Ring mig på 070-123" in page and "Download as JSON" in page
    entries = AuditLog.select().where(AuditLog.action == "exported")
    assert [e.subject for e in entries] == [f"Contact {anna.id}"] * 2


def test_r29_erase_removes_the_personal_data_and_keeps_the_counts(admin_client, sample):
    anna = sample["anna"]
    submission = submission_of(anna)
    Contact.update(email="anna@fjallbo.se", phone="070-123", utm_source="mässa") \
        .where(Contact.id == anna.id).execute()
    history = History.select().where(History.contact == anna.id).count()
    before = tally_counts(("owner", "status", "category"))
    assert admin_client.get(f"/contacts/{anna.id}/erase").status_code == 200
    response = admin_client.post(f"/contacts/{anna.id}/erase")
    assert response.status_code == 302
    erased = Contact.get_by_id(anna.id)
    assert (erased.first_name, erased.last_name, erased.email, erased.phone,
            erased.utm_source) == ("", f"#{anna.id}", "", "", "")
    kept = WebFormSubmission.get_by_id(submission.id)
    assert (kept.payload, kept.utm_source, kept.ip_hash) == ("{}", "", "")
    assert History.select().where(History.contact == anna.id).count() == history
    assert tally_counts(("owner", "status", "category")) == before == exact_counts()
    entry = AuditLog.get(AuditLog.action == "erased")
    assert entry.subject == f"Contact {anna.id}" and "Anna" not in entry.details
    # Erasing twice is refused and changes nothing.
    again = admin_client.post(f"/contacts/{anna.id}/erase")
    assert again.status_code == 409 and "erased already" in again.data.decode()
    assert AuditLog.select().where(AuditLog.action == "erased").count() == 1


def test_r29_only_admins(client, manager_client, sample):
    anna = sample["anna"]
    for who in (client, manager_client):
        assert who.get(f"/contacts/{anna.id}/personal-data").status_code == 403
        assert who.get(f"/contacts/{anna.id}/personal-data.json").status_code == 403
        assert who.post(f"/contacts/{anna.id}/erase").status_code == 403
    assert Contact.get_by_id(anna.id).first_name == "Anna"
    assert not AuditLog.select().where(AuditLog.area == "records").exists()


def test_r29_a_deleted_person_can_be_exported_and_erased(admin_client, sample):
    anna = sample["anna"]
    admin_client.post(f"/contacts/{anna.id}/delete")
    assert admin_client.get(f"/contacts/{anna.id}/personal-data.json").status_code == 200
    assert admin_client.post(f"/contacts/{anna.id}/erase").status_code == 302
    assert admin_client.get("/contacts/99999999999/personal-data").status_code == 404


def test_r29_the_readable_page_names_every_field_in_the_readers_language(app, admin_client,
                                                                        sample):
    """Human labels, not column names: in English, Swedish and Norwegian."""
    import html
    import re

    from models.personal import FIELD_LABELS, TABLE_LABELS
    from models.schema import Contact as ContactModel

    from .conftest import make_user, sign_in
    anna = sample["anna"]
    submission_of(anna)
    # Every field of the contact and of every table referencing it has a label.
    for field in ContactModel._meta.backrefs:
        assert field.model._meta.table_name in TABLE_LABELS
        assert set(field.model._meta.fields) <= set(FIELD_LABELS), field.model
    assert set(ContactModel._meta.fields) <= set(FIELD_LABELS)
    expected = {"en": ("First name", "UTM source", "Web-form messages", "Changed by"),
                "sv": ("Förnamn", "UTM-källa", "Meddelanden från webbformulär", "Ändrad av"),
                "nb": ("Fornavn", "UTM-kilde", "Meldinger fra webskjema", "Endret av")}
    for language, labels in expected.items():
        make_user(f"admin-{language}@example.test", "admin", language=language)
        page = sign_in(app.test_client(), f"admin-{language}@example.test").get(
            f"/contacts/{anna.id}/personal-data").data.decode()
        headings = [html.unescape(h) for h in re.findall(r"<(?:dt|th)>([^<]*)<", page)]
        for label in labels:
            assert label in headings or f"<h2>{label} " in html.unescape(page), \
                (language, label)
        for raw in ("first_name", "utm_source", "web_form_submission", "actor"):
            assert raw not in headings and f"<h2>{raw} " not in page, (language, raw)
