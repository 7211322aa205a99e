"""The contact card: lead status in place (R8, R13), forms, bad input."""
import re

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, History, LeadStatus, move_company, retire_lead_status

from .conftest import HTMX


def status_id(name):
    return LeadStatus.get(LeadStatus.name == name).id


def fact_labels(html):
    return re.findall(r"<dt[^>]*>([^<]+)</dt>", html)


def test_r8_lead_status_is_shown_directly_below_category(client, sample):
    page = client.get(f"/contacts/{sample['anna'].id}").data.decode()
    labels = fact_labels(page)
    assert labels[labels.index("Category") + 1] == "Lead status"


def test_r13_status_value_carries_its_description_as_tooltip(client, sample):
    page = client.get(f"/contacts/{sample['anna'].id}").data.decode()
    assert 'title="No sales contact made yet.">Open</span>' in page


def test_r8_r11_lead_status_hidden_when_company_category_is_not_active(client, sample):
    page = client.get(f"/contacts/{sample['cai'].id}").data.decode()
    assert "Lead status" not in fact_labels(page)
    move_company(sample["lead"], Category.get(name="Customer"), Actor())
    page = client.get(f"/contacts/{sample['anna'].id}").data.decode()
    assert "Lead status" not in fact_labels(page) and 'id="lead-status"' not in page


def test_r8_setting_status_where_not_active_is_refused(client, sample):
    response = client.post(f"/contacts/{sample['cai'].id}/lead-status",
                           data={"lead_status": status_id("Qualified")}, headers=HTMX)
    assert response.status_code == 409
    assert b"not active" in response.data
    assert Contact.get_by_id(sample["cai"].id).lead_status_id is None


def test_edit_in_place_returns_chooser_then_widget_and_timeline(client, sample):
    anna = sample["anna"]
    chooser = client.get(f"/contacts/{anna.id}/lead-status?edit=1", headers=HTMX).data.decode()
    assert chooser.lstrip().startswith('<div id="lead-status"') and "<select" in chooser
    assert 'title="Sales is actively trying to reach the lead."' in chooser
    response = client.post(f"/contacts/{anna.id}/lead-status",
                           data={"lead_status": status_id("Contacting")}, headers=HTMX)
    body = response.data.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="lead-status"') and ">Contacting</span>" in body
    assert 'id="timeline" class="card" hx-swap-oob="true"' in body
    assert "from Open to Contacting" in body
    assert Contact.get_by_id(anna.id).lead_status.name == "Contacting"


def test_full_page_status_change_redirects_back(client, sample):
    response = client.post(f"/contacts/{sample['anna'].id}/lead-status",
                           data={"lead_status": status_id("Nurture")})
    assert response.status_code == 302 and response.location == f"/contacts/{sample['anna'].id}"


def test_r6_retired_status_is_not_offered_and_refused(client, sample):
    retire_lead_status(LeadStatus.get(name="Nurture"))
    chooser = client.get(f"/contacts/{sample['anna'].id}/lead-status?edit=1",
                         headers=HTMX).data.decode()
    assert ">Nurture<" not in chooser
    response = client.post(f"/contacts/{sample['anna'].id}/lead-status",
                           data={"lead_status": status_id("Nurture")}, headers=HTMX)
    assert response.status_code == 409 and b"retired" in response.data


@pytest.mark.parametrize("value", ["", "abc", "4242", "-1"])
def test_unknown_status_is_refused_and_changes_nothing(client, sample, value):
    before = History.select().count()
    response = client.post(f"/contacts/{sample['anna'].id}/lead-status",
                           data={"lead_status": value}, headers=HTMX)
    assert response.status_code == 422
    assert b"Choose a lead status" in response.data
    assert History.select().count() == before


@pytest.mark.parametrize("method, url", [
    ("get", "/contacts/4242"), ("get", "/contacts/4242/edit"), ("post", "/contacts/4242/edit"),
    ("get", "/contacts/4242/lead-status"), ("post", "/contacts/4242/lead-status"),
    ("get", "/companies/4242/contacts/new"), ("post", "/companies/4242/category"),
    ("get", "/contacts/not-a-number"), ("get", "/companies/4242/edit"),
])
def test_unknown_ids_are_404(client, method, url):
    response = getattr(client, method)(url, data={"lead_status": 1})
    assert response.status_code == 404


def test_r9_new_contact_under_lead_company_starts_open(client, sample):
    response = client.post(f"/companies/{sample['lead'].id}/contacts/new", data={
        "first_name": "Dag", "last_name": "Holm", "owner": 0, "utm_source": "webinar"})
    contact = Contact.get(Contact.last_name == "Holm")
    assert response.location == f"/contacts/{contact.id}"
    assert contact.lead_status.name == "Open" and contact.utm_source == "webinar"


def test_r9_new_contact_under_customer_has_no_status(client, sample):
    client.post(f"/companies/{sample['customer'].id}/contacts/new",
                data={"first_name": "Eva", "last_name": "Strand", "owner": 0})
    assert Contact.get(Contact.last_name == "Strand").lead_status_id is None


@pytest.mark.parametrize("data, message", [
    ({"first_name": ""}, "This field is required."),
    ({"email": "eva@"}, "eva@ is not a valid e-mail address."),
    ({"phone": "ring!"}, "Use digits"),
    ({"owner": "4242"}, "Not a valid choice"),
])
def test_invalid_contact_form_saves_nothing(client, sample, data, message):
    before = Contact.select().count()
    response = client.post(f"/companies/{sample['lead'].id}/contacts/new",
                           data={"first_name": "Eva", "last_name": "Strand", "owner": 0, **data})
    assert response.status_code == 422 and message in response.data.decode()
    assert Contact.select().count() == before


def test_edit_in_place_on_the_card(client, sample):
    anna = sample["anna"]
    form = client.get(f"/contacts/{anna.id}/edit", headers=HTMX).data.decode()
    assert form.lstrip().startswith('<section id="contact-details"') and "<form" in form
    bad = client.post(f"/contacts/{anna.id}/edit", headers=HTMX,
                      data={"first_name": "", "last_name": "Berg", "owner": 0})
    assert bad.status_code == 422 and "This field is required." in bad.data.decode()
    assert bad.data.decode().lstrip().startswith('<section id="contact-details"')
    good = client.post(f"/contacts/{anna.id}/edit", headers=HTMX,
                       data={"first_name": "Annika", "last_name": "Berg", "owner": 0,
                             "title": "CTO"})
    assert good.status_code == 200 and "Annika Berg" in good.data.decode()
    saved = Contact.get_by_id(anna.id)
    assert (saved.first_name, saved.title, saved.lead_status.name) == ("Annika", "CTO", "Open")


def test_oversized_body_is_refused(client, sample):
    response = client.post(f"/contacts/{sample['anna'].id}/edit",
                           data={"first_name": "x" * 400_000, "last_name": "B", "owner": 0})
    assert response.status_code == 413
    assert Contact.get_by_id(sample["anna"].id).first_name == "Anna"


def test_contact_card_query_count_is_fixed(client, sample, users):
    anna = sample["anna"]
    url = f"/contacts/{anna.id}"
    with count_queries() as few:
        client.get(url)
    for name in ["Contacting", "Qualified", "Nurture", "Contacting", "Qualified"]:
        client.post(f"/contacts/{anna.id}/lead-status", data={"lead_status": status_id(name)})
    for day in range(1, 6):
        client.post(f"/contacts/{anna.id}/activities", data={
            "kind": "follow_up", "text": f"Call {day}", "due_date": f"2026-12-0{day}"})
        client.post(f"/contacts/{anna.id}/activities", data={"kind": "note", "text": "Hi"})
    with count_queries() as many:
        page = client.get(url).data
        assert b"from Nurture to Contacting" in page and b"Call 5" in page
    # user, contact, statuses, history, and the statuses, categories and people it names,
    # web-form messages, sale events, activities, open follow-ups (R24), the category
    # groups' names (R23) and the possible duplicates (R28)
    assert few.count == many.count <= 13


def test_changing_the_owner_on_the_card_is_in_the_timeline(client, sample, users):
    bo = sample["bo"]
    response = client.post(f"/contacts/{bo.id}/edit", data={
        "first_name": "Bo", "last_name": "Ek", "owner": users["manager"].id})
    assert response.status_code == 302
    row = History.get(History.kind == History.OWNER)
    assert (row.contact_id, row.from_owner_id, row.to_owner_id, row.actor_id) == \
        (bo.id, None, users["manager"].id, users["rep"].id)
    page = client.get(f"/contacts/{bo.id}").data.decode()
    assert "Owner set to Manager" in page
    # Saving the details again without a new owner records nothing more.
    client.post(f"/contacts/{bo.id}/edit", data={
        "first_name": "Bo", "last_name": "Eklund", "owner": users["manager"].id})
    assert History.select().where(History.kind == History.OWNER).count() == 1
