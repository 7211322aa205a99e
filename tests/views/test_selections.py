"""Selections screens: save from a search, list, open, privacy, rename, delete,
members of a static selection, bulk and export from a selection."""
import json

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, LeadStatus, create_company, create_contact, \
    move_company
from models.selections import Selection, SelectionMember, save_selection
from models.search import parse_criteria

from .conftest import HTMX, sign_in


def open_leads_json():
    return json.dumps({"version": 1, "entity": "contacts", "criteria": [
        {"field": "lead_status", "op": "in",
         "value": [LeadStatus.get(LeadStatus.name == "Open").id]},
        {"field": "category_group", "op": "in", "value": ["potential"]}]})


def save(client, name="Open leads", kind="dynamic", shared=False, criteria=None, headers=HTMX):
    data = {"name": name, "kind": kind, "criteria": criteria or open_leads_json()}
    if shared:
        data["shared"] = "1"
    return client.post("/selections", data=data, headers=headers)


def test_save_from_the_search_screen_in_place(client, sample):
    response = save(client)
    body = response.data.decode()
    selection = Selection.get()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="save-selection"')
    assert "Saved as “Open leads”." in body
    assert f'/selections/{selection.id}"' in body
    assert (selection.kind, selection.shared, selection.entity) == ("dynamic", False, "contacts")
    assert parse_criteria(selection.criteria).to_json() == selection.criteria


def test_save_without_htmx_opens_the_selection(client, sample):
    response = save(client, headers={})
    assert response.status_code == 302
    assert response.location == f"/selections/{Selection.get().id}"


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "Give the selection a name"),
    ({"name": "x" * 121}, "at most 120"),
    ({"kind": "frozen"}, "dynamic or static"),
    ({"criteria": "{forged"}, "could not be read"),
    ({"criteria": '{"version": 1, "criteria": [{"field": "salary", "op": "in"}]}'},
     "Unknown search field"),
    ({"criteria": '{"version": 1, "criteria": [{"field": "owner", "op": "in", "value": [999]}]}'},
     "Unknown user: 999"),
])
def test_bad_save_is_refused_with_a_message(client, sample, data, message):
    for headers in (HTMX, {}):
        response = save(client, **{"headers": headers, **data})
        assert response.status_code == 422
        assert message in response.data.decode()
    assert Selection.select().count() == 0


def test_list_shows_own_and_shared_selections(client, app, sample, users):
    save(client, "Mine")
    manager = sign_in(app.test_client(), "manager@example.test")
    save(manager, "Team leads", shared=True)
    save(manager, "Manager's private")
    page = client.get("/selections").data.decode()
    assert "Mine" in page and "Team leads" in page and "Manager&#39;s private" not in page
    fragment = client.get("/selections", headers=HTMX).data.decode()
    assert fragment.lstrip().startswith('<section id="selections"')


def test_private_selection_is_not_visible_to_another_rep(client, app, sample, users):
    save(client, "Rita's own")
    selection = Selection.get()
    other = sign_in(app.test_client(), "manager@example.test")
    for url in (f"/selections/{selection.id}", f"/selections/{selection.id}/count",
                f"/selections/{selection.id}/export.csv", f"/selections/{selection.id}/edit"):
        assert other.get(url).status_code == 404, url
    for url in (f"/selections/{selection.id}/bulk", f"/selections/{selection.id}/delete",
                f"/selections/{selection.id}/criteria"):
        assert other.post(url, data={"action": "owner:1", "scope": "all"}).status_code == 404
    assert "Rita&#39;s own" not in other.get("/selections").data.decode()
    assert other.get("/search?selection=%d" % selection.id).status_code == 200
    assert Selection.select().count() == 1


def test_shared_selection_is_seen_but_changed_only_by_owner_or_admin(client, app, sample,
                                                                    users):
    manager = sign_in(app.test_client(), "manager@example.test")
    save(manager, "Team leads", shared=True)
    selection = Selection.get()
    assert client.get(f"/selections/{selection.id}").status_code == 200
    assert client.get(f"/selections/{selection.id}/edit").status_code == 403
    assert client.post(f"/selections/{selection.id}/edit", data={"name": "Mine"}).status_code \
        == 403
    assert client.post(f"/selections/{selection.id}/delete").status_code == 403
    assert Selection.get().name == "Team leads"
    admin = sign_in(app.test_client(), "admin@example.test")
    response = admin.post(f"/selections/{selection.id}/edit", data={"name": "Leads, all"})
    assert response.status_code == 302 and Selection.get().name == "Leads, all"
    assert not Selection.get().shared


def test_rename_errors_rerender_the_form(client, sample):
    save(client)
    selection = Selection.get()
    response = client.post(f"/selections/{selection.id}/edit", data={"name": "  "})
    assert response.status_code == 422 and b"Give the selection a name" in response.data
    page = client.get(f"/selections/{selection.id}/edit").data.decode()
    assert 'value="Open leads"' in page


def test_opening_a_dynamic_selection_reruns_it_and_a_static_one_does_not(client, sample, users):
    save(client, "Dynamic")
    save(client, "Static", kind="static")
    dynamic, static = Selection.select().order_by(Selection.id)
    # Next week: a new lead arrives and Fjällbo becomes a customer.
    newcomer = create_company(Actor(users["rep"]), name="Ny AB",
                              category=Category.get(name="Lead"))
    create_contact(newcomer, Actor(users["rep"]), first_name="Dan", last_name="Ny")
    move_company(sample["lead"], Category.get(name="Customer"), Actor(users["rep"]))

    dynamic_page = client.get(f"/selections/{dynamic.id}").data.decode()
    static_page = client.get(f"/selections/{static.id}").data.decode()
    assert "Dan Ny" in dynamic_page and "Anna Berg" not in dynamic_page
    assert "Anna Berg" in static_page and "Bo Ek" in static_page and "Dan Ny" not in static_page
    assert "Lead status is one of Open" in dynamic_page
    assert client.get(f"/selections/{dynamic.id}/count", headers=HTMX).data.decode().count(
        ">1<") == 1


def test_static_members_taken_out_and_added_from_a_search(client, sample):
    save(client, "Picked", kind="static")
    selection = Selection.get()
    response = client.post(f"/selections/{selection.id}/bulk", headers=HTMX,
                           data={"action": "remove", "id": [sample["bo"].id]})
    assert "1 row taken out of Picked." in response.data.decode()
    assert [m.contact_id for m in SelectionMember.select()] == [sample["anna"].id]
    everyone = json.dumps({"version": 1, "criteria": []})
    response = client.post("/search/bulk", headers=HTMX, data={
        "criteria": everyone, "action": f"add:{selection.id}", "scope": "ticked",
        "id": [sample["cai"].id, sample["anna"].id]})
    assert "1 row added to Picked." in response.data.decode()
    assert SelectionMember.select().count() == 2


def test_bulk_status_on_a_selection(manager_client, sample):
    save(manager_client, "Open leads")
    selection = Selection.get()
    contacting = LeadStatus.get(LeadStatus.name == "Contacting")
    response = manager_client.post(f"/selections/{selection.id}/bulk", headers=HTMX,
                           data={"action": f"status:{contacting.id}", "scope": "all"})
    body = response.data.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "2 contacts set to Contacting." in body
    # The dynamic selection re-runs: nobody is open any more.
    assert "This selection is empty." in body
    bad = manager_client.post(f"/selections/{selection.id}/bulk", headers=HTMX,
                      data={"action": f"status:{contacting.id}", "id": ["x"]})
    assert bad.status_code == 422 and b"could not be read" in bad.data


def test_export_a_selection(client, sample):
    save(client, "Open leads / spring")
    selection = Selection.get()
    response = client.get(f"/selections/{selection.id}/export.csv?cols=1&col=status")
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="Open-leads---spring.csv"'
    lines = b"".join(response.response).decode("utf-8-sig").splitlines()
    assert lines == ["Name,Lead status", "Anna Berg,Open", "Bo Ek,Open"]


def test_stored_criteria_that_no_longer_fit_show_a_message(client, sample, users):
    spare = Category.create(name="Spare", group="other")
    selection = save_selection(users["rep"], "Spare", parse_criteria(
        {"version": 1, "criteria": [{"field": "category", "op": "in", "value": [spare.id]}]}))
    spare.delete_instance()
    page = client.get(f"/selections/{selection.id}")
    assert page.status_code == 200 and b"Unknown category" in page.data
    count = client.get(f"/selections/{selection.id}/count", headers=HTMX)
    assert count.status_code == 200 and b"\xe2\x80\x94" in count.data
    assert client.get(f"/selections/{selection.id}/export.csv").status_code == 422


def test_change_the_criteria_of_a_dynamic_selection(client, sample):
    save(client, "Open leads")
    selection = Selection.get()
    page = client.get(f"/search?selection={selection.id}&f0=name&o0=contains&v0=Bo").data
    assert "Use these criteria for “Open leads”" in page.decode()
    everyone = json.dumps({"version": 1, "criteria": [
        {"field": "name", "op": "contains", "value": "Bo"}]})
    response = client.post(f"/selections/{selection.id}/criteria", data={"criteria": everyone})
    assert response.status_code == 302
    page = client.get(f"/selections/{selection.id}").data.decode()
    assert "Bo Ek" in page and "Anna Berg" not in page
    forged = client.post(f"/selections/{selection.id}/criteria", data={"criteria": "[]"})
    assert forged.status_code == 422


def test_delete(client, sample):
    save(client, "Picked", kind="static")
    selection = Selection.get()
    response = client.post(f"/selections/{selection.id}/delete", headers=HTMX)
    assert response.headers["HX-Redirect"] == "/selections"
    assert Selection.select().count() == 0 and SelectionMember.select().count() == 0
    assert Contact.select().count() == 3


def queries_for(client, url, headers=None):
    with count_queries() as counter:
        assert client.get(url, headers=headers or {}).status_code == 200
    return counter.count


def test_selections_list_query_count_is_fixed(client, app, sample):
    save(client, "One")
    few = queries_for(client, "/selections")
    manager = sign_in(app.test_client(), "manager@example.test")
    for number in range(20):
        save(client, f"Mine {number}", kind="static" if number % 2 else "dynamic")
        save(manager, f"Shared {number}", shared=True)
    assert queries_for(client, "/selections") == few
    assert few <= 3


def test_selection_page_query_count_is_fixed(client, sample, users):
    save(client, "Open leads")
    url = f"/selections/{Selection.get().id}?cols=1&col=company&col=category&col=status" \
          "&col=owner&col=source"
    few = queries_for(client, url)
    for number in range(30):
        create_contact(sample["lead"], Actor(users["rep"]), first_name="Many",
                       last_name=str(number), owner=users["manager"])
    assert queries_for(client, url) == few
    assert few <= 10


def test_export_file_name_beyond_ascii(client, sample):
    save(client, "Vårens leads")
    response = client.get(f"/selections/{Selection.get().id}/export.csv")
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"V-rens-leads.csv\"; filename*=UTF-8''V%C3%A5rens-leads.csv")
