"""Settings → Lists → Company categories through the views."""
import re

import pytest
from playhouse.test_utils import count_queries

from models import Actor, AuditLog, Category, Contact, create_company, create_contact

from .conftest import HTMX


def category(name):
    return Category.get(Category.name == name)


def test_list_shows_groups_lead_status_and_usage(admin_client, sample):
    page = admin_client.get("/settings/categories/").data.decode()
    assert "Marketing qualified lead (MQL)" in page and "Potential customer" in page
    assert page.count('class="badge on"') == 2  # Lead and MQL


def test_r2_enabling_lead_status_on_customer_group_is_explained(admin_client, users):
    response = admin_client.post("/settings/categories/new", data={
        "name": "VIP customer", "group": "customer", "lead_status_enabled": "y"})
    assert response.status_code == 422
    assert "Lead status can only be enabled on a category in the group Potential customer." \
        in response.data.decode()
    assert not Category.select().where(Category.name == "VIP customer").exists()


def test_create_event_lead_with_lead_status(admin_client, users):
    response = admin_client.post("/settings/categories/new", data={
        "name": "Event lead", "group": "potential", "lead_status_enabled": "y",
        "description": "Met at a fair"})
    assert response.status_code == 302
    event = category("Event lead")
    assert event.lead_status_active and event.description == "Met at a fair"


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "This field is required."),
    ({"name": "Lead"}, "A category named Lead already exists."),
    ({"group": "friends"}, "Not a valid choice"),
    ({"name": "x" * 101}, "cannot be longer than 100"),
])
def test_forged_or_bad_category_posts_change_nothing(admin_client, users, data, message):
    before = Category.select().count()
    response = admin_client.post("/settings/categories/new",
                                 data={"name": "Fine", "group": "potential", **data})
    assert response.status_code == 422 and message in response.data.decode()
    assert Category.select().count() == before


def test_r11_switching_off_asks_first_then_keeps_statuses(admin_client, sample):
    lead = category("Lead")
    form = {"name": "Lead", "group": "potential", "description": ""}
    warning = admin_client.post(f"/settings/categories/{lead.id}/edit", data=form)
    body = warning.data.decode()
    assert warning.status_code == 200 and "Save anyway" in body
    assert "The lead statuses of 2 contacts will be kept" in body
    assert category("Lead").lead_status_enabled
    saved = admin_client.post(f"/settings/categories/{lead.id}/edit",
                              data={**form, "confirmed": "1"})
    assert saved.status_code == 302
    assert not category("Lead").lead_status_enabled
    assert Contact.get_by_id(sample["anna"].id).lead_status.name == "Open"


def test_r10_switching_on_applies_to_contacts(admin_client, sample):
    customer_company = sample["customer"]
    opportunity = category("Opportunity")
    customer_company.category = opportunity
    customer_company.save()
    admin_client.post(f"/settings/categories/{opportunity.id}/edit", data={
        "name": "Opportunity", "group": "potential", "lead_status_enabled": "y"})
    assert Contact.get_by_id(sample["cai"].id).lead_status.name == "Open"


def test_reorder_by_posted_ids(admin_client, users):
    ids = [c.id for c in Category.ordered()]
    response = admin_client.post("/settings/categories/order",
                                 data={"order": list(reversed(ids))}, headers=HTMX)
    assert response.status_code == 200
    assert response.data.decode().lstrip().startswith('<div id="category-list"')
    assert [c.id for c in Category.ordered()] == list(reversed(ids))


@pytest.mark.parametrize("order", [["abc"], ["1", "1"], ["4242"]])
def test_forged_reorder_changes_nothing(admin_client, users, order):
    before = [c.id for c in Category.ordered()]
    response = admin_client.post("/settings/categories/order", data={"order": order},
                                 headers=HTMX)
    assert response.status_code in (409, 422)
    assert b'class="error-message"' in response.data
    assert [c.id for c in Category.ordered()] == before


def test_retire_hides_from_company_chooser_and_restore_brings_back(admin_client, sample):
    partner = category("Partner")
    response = admin_client.post(f"/settings/categories/{partner.id}/retire", headers=HTMX)
    assert response.status_code == 200 and "Partner" not in response.data.decode()
    card = admin_client.get(f"/companies/{sample['lead'].id}").data.decode()
    assert not re.search(r"<option[^>]*>Partner</option>", card)
    shown = admin_client.get("/settings/categories/?retired=1").data.decode()
    assert "Partner" in shown and "Restore" in shown
    admin_client.post(f"/settings/categories/{partner.id}/restore")
    assert not category("Partner").retired
    assert [e.action for e in AuditLog.select().order_by(AuditLog.id)] == ["retired", "restored"]


def test_unknown_category_is_404(admin_client, users):
    assert admin_client.get("/settings/categories/4242/edit").status_code == 404
    assert admin_client.post("/settings/categories/4242/retire").status_code == 404


URLS = [("get", "/settings/categories/"), ("get", "/settings/categories/new"),
        ("post", "/settings/categories/new"), ("get", "/settings/categories/1/edit"),
        ("post", "/settings/categories/1/edit"), ("post", "/settings/categories/order"),
        ("post", "/settings/categories/1/retire"), ("post", "/settings/categories/1/restore"),
        ("get", "/settings/"), ("get", "/settings/audit")]


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("method, url", URLS)
def test_rep_is_refused_every_category_url(client, users, method, url, htmx):
    before = [(c.id, c.name, c.retired, c.sort_order) for c in Category.select()]
    response = getattr(client, method)(url, data={"name": "X", "group": "potential",
                                                  "order": ["1"]},
                                       headers=HTMX if htmx else {})
    assert response.status_code == 403
    assert [(c.id, c.name, c.retired, c.sort_order) for c in Category.select()] == before


def test_list_query_count_is_fixed(admin_client, users):
    def queries():
        with count_queries() as counter:
            admin_client.get("/settings/categories/")
        return counter.count
    few = queries()
    for number in range(20):
        company = create_company(Actor(), name=f"C{number}", category=category("Lead"))
        create_contact(company, Actor(), first_name="A", last_name="B")
        Category.create(name=f"Extra {number}")
    assert queries() == few
