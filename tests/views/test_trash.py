"""Delete, restore and purge (R27) through the screens, and every listing and count
of the app leaving deleted records out."""
import datetime
import re

import pytest
from peewee import fn

from models import (Actor, AuditLog, Category, Company, Contact, History, create_company,
                    create_contact, daily_counts, tally_counts)
from models.dashboards import Tile
from models.search import Criteria
from models.selections import STATIC, add_members, save_selection
from models.trash import purge_deleted
from models.webforms import find_contact_by_email
from playhouse.test_utils import count_queries

from .conftest import HTMX

SIGNED = re.compile(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}")
DEFAULT_TILES = ("status_counts", "category_counts", "new_leads", "funnel", "median_days",
                 "utm", "stale", "suggestions", "rep_status")


@pytest.fixture
def closed(sample, users):
    """A lead company that closed down, with two contacts (one shares an e-mail domain)."""
    rep = Actor(users["rep"])
    company = create_company(rep, name="Stängt AB", category=Category.get(name="Lead"),
                             owner=users["rep"])
    dora = create_contact(company, rep, first_name="Dora", last_name="Dahl",
                          email="dora@stangt.se", owner=users["rep"], utm_source="mässa")
    erik = create_contact(company, rep, first_name="Erik", last_name="Ek", owner=users["manager"])
    return {"company": company, "dora": dora, "erik": erik}


def exact_counts():
    """The counter rows' figures by a fresh GROUP BY of the live contacts."""
    rows = (Contact.select(Contact.owner, Contact.lead_status, Company.category,
                           fn.COUNT(Contact.id))
            .join(Company).group_by(Contact.owner, Contact.lead_status, Company.category))
    return {(o, s, c): n for o, s, c, n in rows.tuples()}


def assert_tallies_exact(users):
    assert tally_counts(("owner", "status", "category")) == exact_counts()
    day = datetime.date.today()
    categories = [c.id for c in Category.select()]
    for user in users.values():
        fresh = (Contact.select().where(Contact.owner == user.id,
                                        Contact.created_at >= datetime.datetime.combine(
                                            day, datetime.time())).count())
        assert dict(daily_counts(day, day, [user.id], categories)).get(day, 0) == fresh


def tile_bodies(app, client):
    """Every default tile's HTML, computed afresh (no cached figures)."""
    response = client.get("/dashboards")
    dashboard_id = int(response.location.rstrip("/").split("/")[-1])
    tiles = {t.kind: t.id for t in Tile.select().where(Tile.dashboard == dashboard_id)}
    app.extensions["tile_cache"].clear()
    # Signed CSRF tokens hold the second they were made: not part of the figures.
    return {kind: SIGNED.sub("token", client.get(f"/dashboards/{dashboard_id}/tiles/"
                                                 f"{tiles[kind]}", headers=HTMX).data.decode())
            for kind in DEFAULT_TILES}


def test_r27_deleted_records_leave_every_listing_and_count(app, manager_client, sample, closed,
                                                           users):
    manager = manager_client
    lead = sample["lead"]
    selection = save_selection(users["manager"], "Frozen", Criteria("contacts"), kind=STATIC)
    add_members(selection, users["manager"], [sample["anna"].id, closed["dora"].id])

    assert b"Dora" in manager.get("/board?owner=all").data  # on the board before
    before = tile_bodies(app, manager)

    response = manager.post(f"/companies/{closed['company'].id}/delete", follow_redirects=True)
    assert "Stängt AB and its 2 contacts were deleted" in response.data.decode()
    response = manager.post(f"/contacts/{sample['anna'].id}/delete", follow_redirects=True)
    assert "Anna Berg was deleted" in response.data.decode()  # on its company's card

    gone = ("Stängt AB", "Dora", "Erik", "Anna")
    pages = {
        "companies": "/companies",
        "companies found": "/companies?q=St%C3%A4ngt",
        "company card": f"/companies/{lead.id}",
        "contact search": "/search?cols=1&col=company&col=email",
        "company search": "/search?entity=companies",
        "search by e-mail": "/search?f0=email&o0=contains&v0=stangt",
        "board": "/board?owner=all",
        "category board": "/board?owner=all&group=category",
        "company board": "/board/companies",
        "selection": f"/selections/{selection.id}",
        "sale form picker": f"/companies/{lead.id}/sales/new",
        "export": "/search/export.csv?cols=1&col=company&col=email",
        "company export": "/search/export.csv?entity=companies",
        "selection export": f"/selections/{selection.id}/export.csv",
    }
    for name, url in pages.items():
        response = manager.get(url)
        assert response.status_code == 200, name
        body = response.data.decode("utf-8-sig")
        for word in gone:
            assert word not in body, (name, word)
    assert "Bo" in manager.get(f"/selections/{selection.id}").data.decode()  # still works
    for url in (f"/contacts/{sample['anna'].id}", f"/contacts/{closed['dora'].id}",
                f"/companies/{closed['company'].id}"):
        assert manager.get(url).status_code == 404
    assert manager.get("/search/count?entity=companies").data.decode().count("2") >= 1
    # The public web form's duplicate check no longer finds the deleted contact.
    assert find_contact_by_email("DORA@stangt.se") is None
    assert_tallies_exact(users)

    # Every dashboard tile shows what it would if the records had never existed.
    soft = tile_bodies(app, manager)
    assert soft["status_counts"] != before["status_counts"]
    purge_deleted(today=datetime.datetime.now() + datetime.timedelta(days=31))
    assert not Contact.everything().where(Contact.id == closed["dora"].id).exists()
    purged = tile_bodies(app, manager)
    for kind in DEFAULT_TILES:
        assert purged[kind] == soft[kind], kind
    assert_tallies_exact(users)


def test_r27_restore_brings_back_everything(manager_client, sample, closed, users):
    manager = manager_client
    before = tally_counts(("owner", "status", "category"))
    history = History.select().where(History.contact == closed["dora"].id).count()
    manager.post(f"/contacts/{closed['dora'].id}/delete")  # on its own first
    manager.post(f"/companies/{closed['company'].id}/delete")

    page = manager.get("/settings/deleted").data.decode()
    assert "Stängt AB" in page and "Removed for good on" in page and "Manager" in page
    contacts_page = manager.get("/settings/deleted?kind=contacts").data.decode()
    assert "Dora Dahl" in contacts_page and "Erik" not in contacts_page  # Erik went with it

    # A contact deleted on its own waits for its company.
    response = manager.post(f"/settings/deleted/contacts/{closed['dora'].id}/restore")
    assert response.status_code == 409 and "restore the company first" in response.data.decode()

    assert manager.post(f"/settings/deleted/companies/{closed['company'].id}/restore") \
        .status_code == 302
    assert b"Erik" in manager.get(f"/companies/{closed['company'].id}").data
    assert manager.get(f"/contacts/{closed['dora'].id}").status_code == 404
    manager.post(f"/settings/deleted/contacts/{closed['dora'].id}/restore")
    card = manager.get(f"/contacts/{closed['dora'].id}").data.decode()
    assert "Dora Dahl" in card and "Restored" in card
    assert tally_counts(("owner", "status", "category")) == before
    # Its history is all there, with the deletions and restores on top.
    assert History.select().where(History.contact == closed["dora"].id,
                                  History.kind.in_(("lead_status", "owner"))).count() == history
    assert AuditLog.select().where(AuditLog.area == "records").count() == 4


def test_r27_bad_requests_change_nothing(manager_client, client, sample, closed):
    dora = closed["dora"]
    # Reps may not delete; the button is not even shown to them.
    assert client.post(f"/contacts/{dora.id}/delete").status_code == 403
    assert client.get("/settings/deleted").status_code == 403
    assert b"/delete" not in client.get(f"/contacts/{dora.id}").data
    assert Contact.get_or_none(Contact.id == dora.id) is not None
    # Deleting twice, restoring what is not deleted, restoring a purged record.
    assert manager_client.post(f"/contacts/{dora.id}/delete").status_code == 302
    assert manager_client.post(f"/contacts/{dora.id}/delete").status_code == 404
    assert manager_client.post(f"/settings/deleted/contacts/{sample['bo'].id}/restore") \
        .status_code == 409
    purge_deleted(today=datetime.datetime.now() + datetime.timedelta(days=31))
    response = manager_client.post(f"/settings/deleted/contacts/{dora.id}/restore")
    assert response.status_code == 409 and "purged" in response.data.decode()
    assert manager_client.post("/settings/deleted/companies/99999999999/restore") \
        .status_code == 409


def test_r27_confirmation_pages_and_the_deleted_list_in_swedish(manager_client, sample, users):
    page = manager_client.get(f"/companies/{sample['lead'].id}/delete").data.decode()
    assert "Delete Fjällbo AB?" in page and "2 contacts" in page
    users["manager"].language = "sv"
    users["manager"].save()
    manager_client.post(f"/companies/{sample['lead'].id}/delete")
    page = manager_client.get("/settings/deleted").data.decode()
    assert "Fjällbo AB" in page and "Återställ" in page


def test_r27_the_deleted_list_costs_the_same_queries_however_long(manager_client, sample,
                                                                  users):
    manager_client.get("/settings/deleted")
    with count_queries() as few:
        manager_client.get("/settings/deleted?kind=contacts")
    rep = Actor(users["rep"])
    for n in range(12):
        company = create_company(rep, name=f"Bolag {n}", category=Category.get(name="Lead"))
        contact = create_contact(company, rep, first_name="P", last_name=str(n))
        manager_client.post(f"/contacts/{contact.id}/delete")
        manager_client.post(f"/companies/{company.id}/delete")
    for kind in ("companies", "contacts"):
        with count_queries() as many:
            manager_client.get(f"/settings/deleted?kind={kind}")
        assert many.count == few.count, kind


def test_r27_a_sale_of_a_deleted_contact_keeps_working(manager_client, sample, users):
    lead = sample["lead"]
    response = manager_client.post(f"/companies/{lead.id}/sales/new", data={
        "title": "Avtal", "amount": "1000", "currency": "SEK", "sale_date": "2026-11-30",
        "owner": 0, "contact": sample["anna"].id, "status": "open"})
    assert response.status_code == 302
    sale = lead.sales.get()
    card = manager_client.post(f"/contacts/{sample['anna'].id}/delete",
                               follow_redirects=True).data.decode()
    card = card.split('class="crumbs"')[1]  # after the message saying who was deleted
    assert "Avtal" in card and "Anna" not in card
    assert manager_client.get(f"/sales/{sale.id}/edit").status_code == 200


def test_r27_the_audit_log_names_what_was_deleted_by_id(admin_client, sample):
    admin_client.post(f"/companies/{sample['lead'].id}/delete", follow_redirects=True)
    page = admin_client.get("/settings/audit?area=records").data.decode()
    assert f"Company {sample['lead'].id}" in page and "Contacts: 2" in page
    assert "Fjällbo" not in page and "Anna" not in page


def test_r27_open_boards_hear_of_a_delete_and_drop_the_cards(manager_client, sample, closed):
    """The feed names the deleted contacts; the board's update leaves their cards out."""
    from models.feed import latest_change_id
    last = latest_change_id()
    manager_client.post(f"/companies/{closed['company'].id}/delete")
    news = manager_client.get(f"/events/poll?after={last}").get_json()
    dora, erik = closed["dora"].id, closed["erik"].id
    assert {dora, erik} <= set(news["contacts"]) and "deleted" in news["kinds"]
    update = manager_client.get(f"/board/changes?owner=all&contacts={dora},{erik}",
                                headers=HTMX).data.decode()
    assert f'data-looked-at="{dora},{erik}"' in update and "Dora" not in update
    # Restored: they come back the same way.
    last = latest_change_id()
    manager_client.post(f"/settings/deleted/companies/{closed['company'].id}/restore")
    news = manager_client.get(f"/events/poll?after={last}").get_json()
    assert {dora, erik} <= set(news["contacts"]) and "restored" in news["kinds"]
    update = manager_client.get(f"/board/changes?owner=all&contacts={dora},{erik}",
                                headers=HTMX).data.decode()
    assert "Dora" in update


def test_r27_a_category_a_deleted_company_uses_stays(manager_client, sample):
    """Deleted companies can come back, so their category is still in use (R4)."""
    from models import delete_category
    from models.errors import RuleViolation
    customer = Category.get(name="Customer")
    manager_client.post(f"/companies/{sample['customer'].id}/delete")
    with pytest.raises(RuleViolation):
        delete_category(customer, Actor())
    assert Category.get_or_none(Category.id == customer.id) is not None
