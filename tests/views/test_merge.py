"""R28 through the screens: suggestions, the merge screen and the loser's address."""
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, create_company, create_contact
from models.merge import version_of


def twin_of_anna(sample, users, owner="rep"):
    return create_contact(sample["lead"], Actor(users["rep"]), first_name="anna",
                          last_name="berg", email="anna@fjallbo.se", owner=users[owner])


def test_r28_the_card_suggests_and_the_screen_merges(client, sample, users):
    anna, twin = sample["anna"], twin_of_anna(sample, users)
    card = client.get(f"/contacts/{anna.id}").data.decode()
    assert "Possible duplicates" in card
    assert f"/merge/contacts?survivor={anna.id}&amp;loser={twin.id}" in card
    page = client.get(f"/merge/contacts?survivor={anna.id}&loser={twin.id}").data.decode()
    assert "anna@fjallbo.se" in page and 'name="pick_email" value="loser" checked' in page
    response = client.post("/merge/contacts", data={
        "survivor": anna.id, "loser": twin.id, "pick_email": "loser",
        "survivor_version": version_of(anna), "loser_version": version_of(twin)})
    assert response.status_code == 302 and response.location.endswith(f"/contacts/{anna.id}")
    assert Contact.get_by_id(anna.id).email == "anna@fjallbo.se"
    # The duplicate's address leads to the survivor; its timeline says so.
    old = client.get(f"/contacts/{twin.id}")
    assert old.status_code == 301 and old.location.endswith(f"/contacts/{anna.id}")
    assert "Merged with a duplicate" in client.get(f"/contacts/{anna.id}").data.decode()


def test_r28_bad_merges_get_a_clear_message(client, manager_client, sample, users):
    anna, twin = sample["anna"], twin_of_anna(sample, users, owner="manager")
    itself = client.get(f"/merge/contacts?survivor={anna.id}&loser={anna.id}")
    assert itself.status_code == 422 and "merged with itself" in itself.data.decode()
    # A rep merges only their own leads.
    assert client.get(f"/merge/contacts?survivor={anna.id}&loser={twin.id}").status_code == 403
    # Changed since the page was opened.
    stale = version_of(twin)
    twin.first_name = "Annika"
    twin.updated_at = twin.updated_at.replace(year=2030)
    twin.save()
    response = manager_client.post("/merge/contacts", data={
        "survivor": anna.id, "loser": twin.id, "survivor_version": version_of(anna),
        "loser_version": stale})
    assert response.status_code == 409 and "changed since this page" in response.data.decode()
    assert Contact.get_or_none(Contact.id == twin.id) is not None
    assert manager_client.get("/merge/contacts?survivor=1&loser=99999999999").status_code == 404


def test_r28_companies_merge_too(manager_client, sample, users):
    lead = sample["lead"]
    copy = create_company(Actor(users["rep"]), name="fjällbo ab",
                          category=Category.get(name="Customer"))
    assert "fjällbo ab" in manager_client.get(f"/companies/{lead.id}").data.decode()
    response = manager_client.post("/merge/companies", data={
        "survivor": lead.id, "loser": copy.id, "survivor_version": version_of(lead),
        "loser_version": version_of(copy)})
    assert response.status_code == 302
    assert manager_client.get(f"/companies/{copy.id}").status_code == 301


def test_r28_possible_duplicates_list_costs_the_same_queries(client, sample, users):
    twin_of_anna(sample, users)
    with count_queries() as few:
        page = client.get("/contacts/duplicates").data.decode()
    assert "Anna Berg" in page and "anna berg" in page
    for n in range(10):
        company = create_company(Actor(users["rep"]), name=f"Dubbel {n}",
                                 category=Category.get(name="Lead"))
        for _ in range(2):
            create_contact(company, Actor(users["rep"]), first_name="Per", last_name=str(n))
    with count_queries() as many:
        client.get("/contacts/duplicates")
    assert many.count == few.count


def test_r28_r8_the_screen_offers_the_lead_status_and_the_survivor_takes_it(client, sample,
                                                                             users):
    from models import LeadStatus, set_lead_status
    anna, twin = sample["anna"], twin_of_anna(sample, users)
    set_lead_status(Contact.get_by_id(twin.id), LeadStatus.get(name="Qualified"),
                    Actor(users["rep"]))
    twin = Contact.get_by_id(twin.id)
    page = client.get(f"/merge/contacts?survivor={anna.id}&loser={twin.id}").data.decode()
    assert 'name="pick_lead_status" value="loser"' in page and "Qualified" in page
    response = client.post("/merge/contacts", data={
        "survivor": anna.id, "loser": twin.id, "pick_lead_status": "loser",
        "survivor_version": version_of(Contact.get_by_id(anna.id)),
        "loser_version": version_of(twin)})
    assert response.status_code == 302
    assert Contact.get_by_id(anna.id).lead_status.name == "Qualified"
    assert "Lead status changed from" in client.get(f"/contacts/{anna.id}").data.decode()


def test_r8_no_lead_status_to_choose_where_it_is_not_active(manager_client, sample, users):
    customer = create_company(Actor(users["rep"]), name="Kund AB",
                              category=Category.get(name="Customer"))
    one = create_contact(customer, Actor(users["rep"]), first_name="Eva", last_name="Holm")
    two = create_contact(customer, Actor(users["rep"]), first_name="eva", last_name="holm")
    page = manager_client.get(f"/merge/contacts?survivor={one.id}&loser={two.id}")
    assert page.status_code == 200 and "pick_lead_status" not in page.data.decode()
