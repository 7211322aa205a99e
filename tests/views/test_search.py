"""The Search screen: criteria in the query string, fragments, results, bulk update
(R8, R17) and CSV export."""
import csv
import time
import io
import json
import re

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, History, LeadStatus, User, create_company, \
    create_contact
from models.categorization import save_rules
from models.schema import CategorySuggestion

from .conftest import HTMX, sign_in


def status_id(name):
    return LeadStatus.get(LeadStatus.name == name).id


def criteria_json(*rows, entity="contacts"):
    return json.dumps({"version": 1, "entity": entity, "criteria": [
        {"field": f, "op": o, "value": v} for f, o, v in rows]})


def test_needs_sign_in(app):
    response = app.test_client().get("/search")
    assert response.status_code == 302 and "/login" in response.location


def test_search_page_shows_every_contact_without_criteria(client, sample):
    page = client.get("/search").data.decode()
    assert "<html" in page and 'id="search-form"' in page
    assert "Anna Berg" in page and "Cai Lund" in page
    assert "3 contacts" in page


def test_criteria_in_the_query_string_filter_the_results(client, sample):
    """R12: contacts are found by their company's category group."""
    url = f"/search?f0=category_group&o0=in&v0=potential&f1=lead_status&o1=in&v1={status_id('Open')}"
    page = client.get(url).data.decode()
    assert "Anna Berg" in page and "Bo Ek" in page and "Cai Lund" not in page
    # The editor shows the criteria back, ticked.
    assert 'name="v0" value="potential" checked' in page


def test_owner_me_finds_the_signed_in_users_contacts(client, sample):
    page = client.get("/search?f0=owner&o0=in&v0=me").data.decode()
    assert "Anna Berg" in page and "Bo Ek" not in page


def test_results_fragment_carries_columns_and_sort_out_of_band(client, sample):
    response = client.get("/search?cols=1&col=status&col=source&sort=-name",
                          headers={**HTMX, "HX-Target": "results"})
    body = response.data.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert '<div id="carried" hidden hx-swap-oob="true">' in body
    assert 'name="sort" value="-name"' in body
    assert "Lead status" in body and "Category group</a>" not in body
    assert body.index("Cai Lund") < body.index("Bo Ek") < body.index("Anna Berg")
    assert "HX-Request" in response.headers["Vary"]


def test_criteria_editor_fragment_adds_changes_and_removes_rows(client, sample):
    added = client.get("/search/criteria?f0=lead_status&o0=in&v0=1&add=utm_campaign",
                       headers=HTMX)
    body = added.data.decode()
    assert body.lstrip().startswith('<div id="criteria"')
    assert added.headers["HX-Trigger"] == "criteria-changed"
    assert 'id="criterion-0"' in body and 'id="criterion-1" data-field="utm_campaign"' in body
    # A changed field starts again from its first operator and no values.
    reset = client.get("/search/criteria?f0=owner&o0=in&v0=1&reset=0", headers=HTMX)
    assert 'name="v0" value="1" checked' not in reset.data.decode()
    removed = client.get("/search/criteria?f0=lead_status&o0=in&v0=1&f3=name&o3=contains"
                         "&v3=x&remove=0", headers=HTMX).data.decode()
    assert 'id="criterion-0"' not in removed and 'id="criterion-3"' in removed


def test_every_fragment_url_is_also_a_page(client, sample):
    for url in ("/search/criteria?add=name", "/search/count?f0=name&o0=contains&v0=Anna"):
        page = client.get(url).data.decode()
        assert "<html" in page and 'id="results"' in page


def test_live_count(client, sample):
    body = client.get(f"/search/count?f0=lead_status&o0=in&v0={status_id('Open')}",
                      headers=HTMX).data.decode()
    assert body.lstrip().startswith('<output id="live-count"')
    assert "2 contacts match" in body
    companies = client.get("/search/count?entity=companies", headers=HTMX).data.decode()
    assert "2 companies match" in companies


def test_editing_criteria_replaces_the_address_with_the_search_page(client, sample):
    """The live count and the criteria editor put the shareable /search?... address in
    the address bar, replacing it: they are never pushed as Back steps (item 6)."""
    page = client.get("/search").data.decode()
    assert re.search(r'<div id="criteria" class="criteria" hx-push-url="false">', page)
    assert re.search(r'<output id="live-count"[^>]* hx-push-url="false"', page)
    count = client.get("/search/count?entity=contacts&f0=name&o0=contains&v0=Anna&cols=1"
                       "&col=company&sort=name", headers=HTMX)
    assert count.headers["HX-Replace-Url"] == ("/search?entity=contacts&f0=name&o0=contains"
                                               "&v0=Anna&cols=1&col=company&sort=name")
    assert "HX-Push-Url" not in count.headers
    added = client.get("/search/criteria?entity=contacts&f0=name&o0=contains&v0=Anna"
                       "&add=owner", headers=HTMX)
    assert added.headers["HX-Replace-Url"] == ("/search?entity=contacts&f0=name&o0=contains"
                                               "&v0=Anna&f1=owner&o1=in")


def test_the_value_hint_goes_once_a_value_is_typed(client, sample):
    """The live count redraws each row's "Choose a value" hint (item 7)."""
    waiting = client.get("/search/count?f0=name&o0=contains&v0=", headers=HTMX).data.decode()
    assert re.search(r'<p class="hint" id="criterion-hint-0" hx-swap-oob="true">Choose a value',
                     waiting)
    typed = client.get("/search/count?f0=name&o0=contains&v0=Ann", headers=HTMX).data.decode()
    assert re.search(r'<p class="hint" id="criterion-hint-0" hx-swap-oob="true" hidden>', typed)


def test_an_incomplete_row_is_left_out_and_says_so(client, sample):
    page = client.get("/search?f0=lead_status&o0=in").data.decode()
    assert "until then this criterion is left out" in page and "3 contacts" in page


@pytest.mark.parametrize("query, message", [
    ("f0=salary&o0=in&v0=1", "Unknown search field: salary"),
    ("f0=name&o0=regex&v0=x", "Unknown operator for Name: regex"),
    ("f0=lead_status&o0=in&v0=4242", "Unknown lead status: 4242"),
    ("f0=lead_status&o0=in&v0=abc", "Unknown lead status: abc"),
    ("f0=owner&o0=in&v0=-1", "Unknown user: -1"),
    ("f0=category_group&o0=in&v0=vip", "Unknown category group: vip"),
    ("f0=created&o0=between&v0=yesterday&v0=", "YYYY-MM-DD"),
    ("f0=created&o0=between&v0=2026-05-01&v0=2026-01-01", "starts after it ends"),
    ("f0=created&o0=last_days&v0=99999", "whole number"),
    ("entity=sales", "Unknown kind of search: sales"),
    ("entity=companies&f0=utm_source&o0=eq&v0=x", "UTM source cannot be searched on companies"),
    ("f0=name&o0=contains&v0=" + "x" * 300, None),
    ("page=abc&sort=evil&cols=1&col=password", None),
    ("page=99999&sort=--name", None),
    ("f99=name&o99=contains&v99=%25%27%22", None),
])
def test_bad_query_strings_give_a_message_never_a_500(client, sample, query, message):
    for headers in ({}, {**HTMX, "HX-Target": "results"}):
        response = client.get(f"/search?{query}", headers=headers)
        assert response.status_code == 200
        if message:
            assert message in response.data.decode()
    count = client.get(f"/search/count?{query}", headers=HTMX)
    assert count.status_code == 200


def test_companies_search(client, sample):
    page = client.get("/search?entity=companies&f0=category_group&o0=in&v0=customer").data
    assert "Kundgården AB" in page.decode() and "Fjällbo AB" not in page.decode()


def bulk(client, criteria, headers=HTMX, **form):
    return client.post("/search/bulk", data={"criteria": criteria, **form}, headers=headers)


def test_r8_bulk_update_reports_updated_and_skipped_rows(manager_client, sample):
    """A mix of eligible (lead) and ineligible (customer) contacts, ticked."""
    ids = [sample["anna"].id, sample["bo"].id, sample["cai"].id]
    response = bulk(manager_client, criteria_json(), action=f"status:{status_id('Contacting')}",
                    scope="ticked", id=ids)
    body = response.data.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results"')
    assert "2 contacts set to Contacting." in body
    assert "1 skipped because its lead status is not active" in body
    assert "Cai Lund" in body.split('class="skipped"')[1].split("</ul>")[0]
    assert Contact.get_by_id(sample["anna"].id).lead_status.name == "Contacting"
    assert Contact.get_by_id(sample["cai"].id).lead_status is None


def test_r17_bulk_update_leaves_suggestions_and_shows_no_dialog(manager_client, sample):
    save_rules({("status_set", status_id("Qualified")): {
        "enabled": True, "target_category_id": Category.get(name="Opportunity").id,
        "ask_confirm": True}}, Actor())
    body = bulk(manager_client, criteria_json(), action=f"status:{status_id('Qualified')}",
                scope="all").data.decode()
    assert "2 contacts set to Qualified." in body
    assert "1 category suggestion waits on its company's card" in body
    assert "<dialog" not in body
    assert CategorySuggestion.select().where(CategorySuggestion.state == "pending",
                                             CategorySuggestion.source == "bulk").count() == 1


def test_bulk_owner_on_all_matching_rows(manager_client, sample, users):
    criteria = criteria_json(("category_group", "in", ["potential"]))
    body = bulk(manager_client, criteria, action=f"owner:{users['manager'].id}", scope="all").data
    assert "2 rows given to Manager." in body.decode()
    assert {c.owner_id for c in Contact.select().where(Contact.company == sample["lead"])} == \
        {users["manager"].id}
    assert Contact.get_by_id(sample["cai"].id).owner_id is None


def test_bulk_without_htmx_answers_with_the_page(client, sample):
    response = bulk(client, criteria_json(), headers={},
                    action=f"status:{status_id('Nurture')}", scope="ticked",
                    id=[sample["anna"].id])
    assert response.status_code == 200 and b"<html" in response.data
    assert b"1 contact set to Nurture." in response.data


@pytest.mark.parametrize("form, message", [
    ({"action": "status:1", "scope": "ticked", "id": ["1", "x"]}, "could not be read"),
    ({"action": "status:1", "scope": "ticked", "id": ["1" * 30]}, "could not be read"),
    ({"action": "status:1", "scope": "ticked"}, "Tick at least one row"),
    ({"action": "status:4242", "scope": "all"}, "Choose a lead status"),
    ({"action": "status:abc", "scope": "all"}, "Choose what to set"),
    ({"action": "owner:4242", "scope": "all"}, "Choose an owner"),
    ({"action": "delete:1", "scope": "all"}, "Choose what to set"),
    ({"action": "", "scope": "all"}, "Choose what to set"),
    ({"action": "add:4242", "scope": "all"}, "Choose a selection"),
    ({"action": "remove", "scope": "all", "id": ["1"]}, "Choose what to set"),
    ({"criteria": "{forged", "action": "status:1", "scope": "all"}, "could not be read"),
    ({"criteria": '{"version": 1, "criteria": [{"field": "x", "op": "in"}]}',
      "action": "status:1", "scope": "all"}, "Unknown search field"),
])
def test_bad_bulk_input_changes_nothing(client, sample, form, message):
    before = (History.select().count(), [c.lead_status_id for c in Contact.select()])
    response = bulk(client, form.pop("criteria", criteria_json()), **form)
    assert response.status_code == 422
    assert message in response.data.decode()
    assert (History.select().count(), [c.lead_status_id for c in Contact.select()]) == before


def test_bulk_to_a_retired_status_is_refused(client, sample):
    LeadStatus.update(retired=True).where(LeadStatus.name == "Nurture").execute()
    response = bulk(client, criteria_json(), action=f"status:{status_id('Nurture')}",
                    scope="all")
    assert response.status_code == 422 and b"retired" in response.data


def test_r30_a_reps_bulk_update_skips_other_peoples_leads(client, sample, users):
    """Reps bulk-update only their own leads; the others are counted as skipped (R30)."""
    body = bulk(client, criteria_json(), action=f"status:{status_id('Contacting')}",
                scope="all").data.decode()
    assert "1 contact set to Contacting." in body
    assert "2 skipped because they are someone else's" in body
    assert Contact.get_by_id(sample["anna"].id).lead_status.name == "Contacting"
    assert Contact.get_by_id(sample["bo"].id).lead_status.name == "Open"
    body = bulk(client, criteria_json(), action=f"owner:{users['rep'].id}",
                scope="all").data.decode()
    assert "0 rows given to Rep." in body and "skipped because they are someone else's" in body
    assert Contact.get_by_id(sample["bo"].id).owner_id is None


def test_a_large_bulk_update_runs_as_a_job_with_its_report(app, manager_client, sample,
                                                           job_worker):
    """Above a small size the answer is a progress bar at once; the real consumer runs
    the job and its page shows the same report as an immediate update."""
    from models.jobs import Job
    app.config["BULK_IMMEDIATE_ROWS"] = 1
    body = bulk(manager_client, criteria_json(), action=f"status:{status_id('Contacting')}",
                scope="all").data.decode()
    job = Job.get()
    assert f'hx-get="/jobs/{job.id}"' in body and "runs in the background" in body
    deadline = time.monotonic() + 30
    while Job.get_by_id(job.id).active and time.monotonic() < deadline:
        time.sleep(0.05)
    page = manager_client.get(f"/jobs/{job.id}", headers=HTMX).data.decode()
    assert "2 contacts set to Contacting." in page and 'hx-trigger="every 1s"' not in page
    assert "1 skipped because its lead status is not active" in page
    assert Contact.get_by_id(sample["bo"].id).lead_status.name == "Contacting"


def read_csv(response, delimiter=","):
    raw = b"".join(response.response)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=delimiter))


def test_csv_export_round_trip(client, sample, users):
    Contact.update(email="anna@fjallbo.se", utm_medium="social", utm_campaign="vår-webinar") \
        .where(Contact.id == sample["anna"].id).execute()
    response = client.get("/search/export.csv?cols=1&col=company&col=email&col=group"
                          "&col=status&col=owner&col=source&col=created&sort=name")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    rows = read_csv(response)
    assert rows[0] == ["Name", "Company", "E-mail", "Category group", "Lead status", "Owner",
                       "UTM source", "UTM medium", "UTM campaign", "Created"]
    by_name = {row[0]: row for row in rows[1:]}
    assert list(by_name) == ["Anna Berg", "Bo Ek", "Cai Lund"]
    anna = Contact.get_by_id(sample["anna"].id)
    assert by_name["Anna Berg"] == [
        "Anna Berg", "Fjällbo AB", "anna@fjallbo.se", "Potential customer", "Open",
        users["rep"].name, "", "social", "vår-webinar", anna.created_at.isoformat(sep=" ")]
    assert by_name["Cai Lund"][3:5] == ["Customer", ""]


def test_csv_export_follows_the_criteria_and_the_language(client, sample, users):
    User.update(language="sv").where(User.id == users["rep"].id).execute()
    response = client.get("/search/export.csv?f0=category_group&o0=in&v0=customer"
                          "&cols=1&col=group")
    rows = read_csv(response, delimiter=";")
    assert len(rows) == 2 and rows[1][0] == "Cai Lund"
    comma = read_csv(client.get("/search/export.csv?sep=comma&cols=1&col=group"))
    assert len(comma) == 4 and len(comma[0]) == 2


def test_csv_export_of_companies(client, sample):
    rows = read_csv(client.get("/search/export.csv?entity=companies&cols=1&col=category"
                               "&col=contacts&sort=-name"))
    assert rows == [["Name", "Category"], ["Kundgården AB", "Customer"], ["Fjällbo AB", "Lead"]]


def test_csv_cells_that_look_like_formulas_are_kept_as_text(client, sample):
    Contact.update(first_name="=HYPERLINK(\"http://evil\")", phone="+46 8 123 45 67") \
        .where(Contact.id == sample["anna"].id).execute()
    rows = read_csv(client.get("/search/export.csv?cols=1&col=phone&sort=name"))
    assert rows[1] == ["'=HYPERLINK(\"http://evil\") Berg", "+46 8 123 45 67"]


def test_csv_export_with_bad_criteria_is_a_message(client, sample):
    response = client.get("/search/export.csv?f0=lead_status&o0=in&v0=4242")
    assert response.status_code == 422 and b"Unknown lead status" in response.data


def add_contacts(users, count):
    actor = Actor(users["rep"])
    for number in range(count):
        company = create_company(actor, name=f"Extra {number}", category=Category.get(name="Lead"),
                                 owner=users["rep"])
        create_contact(company, actor, first_name="X", last_name=str(number),
                       owner=users["manager"])


def queries_for(client, url, headers=None):
    with count_queries() as counter:
        assert client.get(url, headers=headers or {}).status_code == 200
    return counter.count


def test_results_page_query_count_is_fixed(client, users):
    url = (f"/search?f0=lead_status&o0=in&v0={status_id('Open')}&f1=category_group&o1=in"
           f"&v1=potential&f2=owner&o2=not_in&v2=me&cols=1&col=company&col=category&col=group"
           f"&col=status&col=owner&col=source&col=created&sort=status")
    add_contacts(users, 2)
    few = queries_for(client, url)
    few_fragment = queries_for(client, url, {**HTMX, "HX-Target": "results"})
    add_contacts(users, 60)
    assert queries_for(client, url) == few
    assert queries_for(client, url, {**HTMX, "HX-Target": "results"}) == few_fragment
    assert few <= 9


def test_count_fragment_query_count(client, users):
    add_contacts(users, 3)
    url = f"/search/count?f0=lead_status&o0=in&v0={status_id('Open')}&f1=owner&o1=in&v1=me"
    assert queries_for(client, url, HTMX) <= 4


def test_a_manager_sees_the_same_screen(app, sample):
    manager = sign_in(app.test_client(), "manager@example.test")
    assert b"Anna Berg" in manager.get("/search?f0=name&o0=contains&v0=ann").data


def test_r25_csv_export_and_results_have_next_step_and_last_activity(client, sample, users):
    import datetime

    from models.activities import add_activity
    add_activity(users["rep"], "call", "Called", contact=sample["anna"],
                 created_at=datetime.datetime(2026, 11, 2, 14, 0))
    add_activity(users["rep"], "follow_up", "Demo", contact=sample["anna"],
                 due_at=datetime.datetime(2026, 12, 3, 10, 0))
    rows = read_csv(client.get("/search/export.csv?cols=1&col=next_step&col=last_activity"
                               "&sort=name"))
    assert rows[0] == ["Name", "Next step", "Last activity"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Anna Berg"] == ["Anna Berg", "2026-12-03 10:00:00 Demo",
                                    "2026-11-02 14:00:00"]
    assert by_name["Bo Ek"] == ["Bo Ek", "", ""]
    page = client.get("/search?cols=1&col=next_step&col=last_activity&sort=next_step")
    assert page.status_code == 200 and "Demo · " in page.data.decode()
