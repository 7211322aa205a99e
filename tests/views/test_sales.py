"""Sales on the company card and the confirmation paths of lead categorization (R14-R19)."""
import datetime
from decimal import Decimal

import pytest

from models import Actor, Category, Company, Contact, History, LeadStatus
from models.categorization import register_sale, save_rules
from models.schema import CategorySuggestion, Sale

from .conftest import HTMX


def category_id(name):
    return Category.get(Category.name == name).id


def status_id(name):
    return LeadStatus.get(LeadStatus.name == name).id


def switch_on(trigger, target, confirm=False, status=None):
    key = (trigger, status_id(status) if status else None)
    save_rules({key: {"enabled": True, "target_category_id": category_id(target),
                      "ask_confirm": confirm}}, Actor())


def new_sale(**data):
    return {"title": "Pilot", "amount": "12 500,50", "currency": "SEK",
            "sale_date": "2026-11-20", "owner": 0, "contact": 0, "status": "open", **data}


def test_r14_register_sale_on_the_card(client, sample):
    lead = sample["lead"]
    response = client.post(f"/companies/{lead.id}/sales/new",
                           data=new_sale(contact=sample["anna"].id))
    assert response.status_code == 302
    sale = Sale.get()
    assert (sale.amount, sale.contact_id, sale.sale_date) == \
        (Decimal("12500.50"), sample["anna"].id, datetime.date(2026, 11, 20))
    card = client.get(f"/companies/{lead.id}").data.decode()
    assert "Pilot" in card and "12,500.50" in card


@pytest.mark.parametrize("data, message", [
    ({"amount": "-5"}, "The amount must be zero or more."),
    ({"amount": "lots"}, "The amount must be a number."),
    ({"amount": ""}, "This field is required."),
    ({"title": ""}, "This field is required."),
    ({"sale_date": "yesterday"}, "Not a valid date value."),
    ({"currency": "BTC"}, "Not a valid choice"),
    ({"status": "won"}, "Not a valid choice"),
])
def test_r14_bad_sale_is_refused_and_saves_nothing(client, sample, data, message):
    response = client.post(f"/companies/{sample['lead'].id}/sales/new", data=new_sale(**data))
    assert response.status_code == 422 and message in response.data.decode()
    assert Sale.select().count() == 0


def test_r14_contact_of_another_company_is_refused(client, sample):
    response = client.post(f"/companies/{sample['lead'].id}/sales/new",
                           data=new_sale(contact=sample["cai"].id))
    assert response.status_code == 422
    assert Sale.select().count() == 0


def test_r15_r19_marking_sold_moves_at_once_and_timeline_names_the_rule(client, sample):
    switch_on("sale_sold", "Customer")
    lead = sample["lead"]
    sale, _ = register_sale(lead, Actor(), title="Pilot", amount=1, currency="SEK",
                            sale_date=datetime.date(2026, 11, 1))
    response = client.post(f"/sales/{sale.id}/status", data={"status": "sold"}, headers=HTMX)
    body = response.data.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="sales"')
    assert 'id="category-panel" class="category-panel" hx-swap-oob="true"' in body
    assert Company.get_by_id(lead.id).category.name == "Customer"
    assert "Category changed from Lead to Customer" in body and "Sale marked Sold" in body


def test_r17_confirm_rule_answers_with_a_dialog_and_accept_moves(client, sample):
    switch_on("status_set", "Opportunity", confirm=True, status="Qualified")
    anna = sample["anna"]
    response = client.post(f"/contacts/{anna.id}/lead-status",
                           data={"lead_status": status_id("Qualified")}, headers=HTMX)
    body = response.data.decode()
    assert '<div id="dialog-slot" hx-swap-oob="true">' in body and "data-autoshow" in body
    assert "Move to Opportunity" in body
    assert Company.get_by_id(sample["lead"].id).category.name == "Lead"
    suggestion = CategorySuggestion.get()
    answer = client.post(f"/suggestions/{suggestion.id}/accept", headers=HTMX)
    assert answer.headers.get("HX-Refresh") == "true"
    assert Company.get_by_id(sample["lead"].id).category.name == "Opportunity"
    move = History.select().where(History.kind == "category").order_by(History.id.desc()).get()
    assert move.source == "rule" and move.actor.email == "rep@example.test"


def test_r17_pick_another_category(client, sample):
    switch_on("status_set", "Opportunity", confirm=True, status="Qualified")
    client.post(f"/contacts/{sample['anna'].id}/lead-status",
                data={"lead_status": status_id("Qualified")}, headers=HTMX)
    suggestion = CategorySuggestion.get()
    client.post(f"/suggestions/{suggestion.id}/accept",
                data={"category": category_id("Customer")}, headers=HTMX)
    assert Company.get_by_id(sample["lead"].id).category.name == "Customer"
    move = History.select().where(History.kind == "category").order_by(History.id.desc()).get()
    assert move.source == "user"
    assert CategorySuggestion.get_by_id(suggestion.id).chosen_category.name == "Customer"


def test_r17_decline_keeps_category_and_is_recorded(client, sample):
    switch_on("status_set", "Opportunity", confirm=True, status="Qualified")
    client.post(f"/contacts/{sample['anna'].id}/lead-status",
                data={"lead_status": status_id("Qualified")})
    suggestion = CategorySuggestion.get()
    response = client.post(f"/suggestions/{suggestion.id}/decline")
    assert response.status_code == 302
    assert Company.get_by_id(sample["lead"].id).category.name == "Lead"
    assert CategorySuggestion.get_by_id(suggestion.id).state == "declined"


def test_r17_full_page_action_shows_the_dialog_on_the_card(client, sample):
    switch_on("sale_registered", "Opportunity", confirm=True)
    response = client.post(f"/companies/{sample['lead'].id}/sales/new", data=new_sale())
    suggestion = CategorySuggestion.get()
    assert response.location == f"/companies/{sample['lead'].id}?suggestion={suggestion.id}"
    card = client.get(response.location).data.decode()
    assert "data-autoshow" in card and "Suggested: Opportunity instead of Lead" in card
    plain = client.get(f"/companies/{sample['lead'].id}").data.decode()
    assert "data-autoshow" not in plain and "Suggested: Opportunity instead of Lead" in plain


def test_r17_confirmation_for_a_company_that_changed_meanwhile(client, sample):
    switch_on("sale_registered", "Opportunity", confirm=True)
    client.post(f"/companies/{sample['lead'].id}/sales/new", data=new_sale())
    client.post(f"/companies/{sample['lead'].id}/category",
                data={"category": category_id("Marketing qualified lead (MQL)")})
    suggestion = CategorySuggestion.get()
    response = client.post(f"/suggestions/{suggestion.id}/accept", headers=HTMX)
    assert response.status_code == 409 and b"has changed" in response.data
    assert Company.get_by_id(sample["lead"].id).category.name.startswith("Marketing")


@pytest.mark.parametrize("url, data", [
    ("/suggestions/4242/accept", {}), ("/suggestions/4242/decline", {}),
    ("/sales/4242/status", {"status": "sold"}), ("/sales/4242/edit", {}),
    ("/companies/4242/sales/new", {}),
])
def test_unknown_ids_are_404(client, sample, url, data):
    assert client.post(url, data=data).status_code == 404


def test_unknown_sale_status_is_refused(client, sample):
    sale, _ = register_sale(sample["lead"], Actor(), title="X", amount=1, currency="SEK",
                            sale_date=datetime.date(2026, 1, 1))
    response = client.post(f"/sales/{sale.id}/status", data={"status": "won"}, headers=HTMX)
    assert response.status_code == 422 and Sale.get_by_id(sale.id).status == "open"


def test_r16_rule4_does_not_fire_for_customer_companies(client, sample):
    switch_on("status_set", "Opportunity", status="Qualified")
    contact = Contact.get_by_id(sample["cai"].id)
    response = client.post(f"/contacts/{contact.id}/lead-status",
                           data={"lead_status": status_id("Qualified")}, headers=HTMX)
    assert response.status_code == 409
    assert Company.get_by_id(sample["customer"].id).category.name == "Customer"


def test_edit_sale_and_mark_lost_by_edit(client, sample):
    switch_on("sale_lost", "Lost opportunity")
    sale, _ = register_sale(sample["lead"], Actor(), title="X", amount=1, currency="SEK",
                            sale_date=datetime.date(2026, 1, 1))
    response = client.post(f"/sales/{sale.id}/edit", data=new_sale(title="Renamed",
                                                                   status="lost"))
    assert response.status_code == 302
    assert Sale.get_by_id(sale.id).title == "Renamed"
    assert Company.get_by_id(sample["lead"].id).category.name == "Lost opportunity"


def test_r15_rule4_without_confirm_redraws_the_contact_details(client, sample):
    switch_on("status_set", "Customer", status="Qualified")
    response = client.post(f"/contacts/{sample['anna'].id}/lead-status",
                           data={"lead_status": status_id("Qualified")}, headers=HTMX)
    body = response.data.decode()
    assert response.headers["HX-Retarget"] == "#contact-details"
    assert body.lstrip().startswith('<section id="contact-details"')
    # Customer has no lead status: the field is gone from the card (R11).
    assert 'id="lead-status"' not in body and "Customer" in body
    assert Company.get_by_id(sample["lead"].id).category.name == "Customer"


@pytest.mark.parametrize("country, language, currency", [
    ("Norway", "en", "NOK"), ("Danmark", "en", "DKK"), ("Finland", "sv", "EUR"),
    ("Sverige", "nb", "SEK"), ("", "nb", "NOK"), ("Atlantis", "sv", "SEK"),
])
def test_new_sale_form_starts_today_in_the_currency_of_the_companys_country(
        client, sample, users, country, language, currency):
    """The first Save works: the date is today, the currency follows the country
    (else the user's language) (item 12)."""
    Company.update(country=country).where(Company.id == sample["lead"].id).execute()
    users["rep"].language = language
    users["rep"].save()
    form = client.get(f"/companies/{sample['lead'].id}/sales/new").data.decode()
    assert f'value="{datetime.date.today().isoformat()}"' in form
    assert f'<option selected value="{currency}">' in form


def test_r14_registering_winning_and_losing_a_sale_are_in_the_timeline(client, sample):
    lead = sample["lead"]
    client.post(f"/companies/{lead.id}/sales/new", data=new_sale(title="Pilot"))
    sale = Sale.get()
    client.post(f"/sales/{sale.id}/status", data={"status": "sold"})
    client.post(f"/sales/{sale.id}/status", data={"status": "lost"})
    timeline = client.get(f"/companies/{lead.id}").data.decode().split('id="timeline"')[1]
    assert "Sale “Pilot” registered: SEK12,500.50" in timeline
    assert timeline.index("Sale “Pilot” marked Lost") < \
        timeline.index("Sale “Pilot” marked Sold") < timeline.index("Sale “Pilot” registered")
