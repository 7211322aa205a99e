"""R23: every user sees lead statuses, categories and category groups in their own
language, whatever language the database was created in, on every screen."""
import csv
import io
import re

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, LeadStatus, move_company
from models.categorization import save_rules
from models.dashboards import Tile
from models.schema import CategoryGroup
from models.setup import DEFAULT_CATEGORIES, DEFAULT_GROUPS, DEFAULT_STATUSES, translated

from .conftest import HTMX, make_user, sign_in


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def category(name):
    return Category.get(Category.name == name)


@pytest.fixture
def swedish(app, sample):
    make_user("sven@example.test", "rep", language="sv", name="Sven Säljare")
    return sign_in(app.test_client(), "sven@example.test")


@pytest.fixture
def norwegian(app, sample):
    make_user("nora@example.test", "rep", language="nb", name="Nora Selger")
    return sign_in(app.test_client(), "nora@example.test")


def created_in_swedish():
    """Turn the English default lists into those of a database created in Swedish."""
    for row, words in zip(LeadStatus.ordered(include_retired=True), DEFAULT_STATUSES):
        LeadStatus.update(**translated(words, "sv")).where(LeadStatus.id == row.id).execute()
    for row, (_, _, words) in zip(Category.ordered(include_retired=True), DEFAULT_CATEGORIES):
        Category.update(**translated(words, "sv")).where(Category.id == row.id).execute()
    for code, words in DEFAULT_GROUPS.items():
        names = {language: (word,) for language, word in words.items()}
        (CategoryGroup.update(**translated(names, "sv", ("name",)))
         .where(CategoryGroup.code == code).execute())


def column_names(page):
    return re.findall(r'<section class="column[^"]*" aria-label="([^"]+)"', page)


def test_r23_a_swedish_rep_works_in_swedish_on_an_english_database(swedish, sample):
    """Board columns and cards, the move toast and the timeline (issue: all English)."""
    board = swedish.get("/board?owner=all").data.decode()
    assert column_names(board) == ["Öppen", "Kontakt tas", "Kvalificerad", "Diskvalificerad",
                                   "Återbearbetning"]
    assert 'title="Du försöker nå leadden."' in board  # the column's description
    anna = sample["anna"]
    moved = swedish.post("/board/move", headers=HTMX, data={
        "contact": anna.id, "status": status("Contacting").id, "version": anna.version})
    assert "Anna Berg flyttades till Kontakt tas." in moved.data.decode()
    card = swedish.get(f"/contacts/{anna.id}").data.decode()
    assert "Leadstatus ändrad från Öppen till Kontakt tas" in card
    assert "Potentiell kund" in card and ">Lead<" in card


def test_r23_a_norwegian_rep_works_in_norwegian_on_a_swedish_database(norwegian, sample):
    created_in_swedish()
    board = norwegian.get("/board?owner=all&group=category").data.decode()
    assert column_names(board) == ["Lead", "Markedsføringskvalifisert lead (MQL)", "Mulighet",
                                   "Tapt mulighet"]
    lead = sample["lead"]
    move_company(lead, category("Affärsmöjlighet"), Actor())
    card = norwegian.get(f"/companies/{lead.id}").data.decode()
    assert "Kategori endret fra Lead til Mulighet" in card
    assert "Affärsmöjlighet" not in card and "Öppen" not in card
    statuses = norwegian.get("/board?owner=all&group=status").data.decode()
    assert column_names(statuses)[-1] == "Varmes opp igjen"


def test_r23_search_chips_results_and_csv_in_the_readers_language(norwegian, sample):
    search = norwegian.get("/search?f0=category_group&o0=in&v0=customer"
                           "&cols=1&col=category&col=group&col=status").data.decode()
    assert "Potensiell kunde</label>" in search and "Kunde</label>" in search
    assert "<td>Kunde</td>" in search  # Cai's company: Customer, shown as Kunde
    export = norwegian.get("/search/export.csv?f0=name&o0=contains&v0=Anna"
                           "&cols=1&col=category&col=group&col=status")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == ["Anna Berg", "Lead", "Potensiell kunde", "Åpen"]


def test_r23_names_cost_no_query_per_row(norwegian, sample):
    """The CSV export names every row from lists read once."""
    url = "/search/export.csv?cols=1&col=category&col=group&col=status&col=owner"
    with count_queries() as few:
        norwegian.get(url).data
    for number in range(30):
        Contact.create(company=sample["lead"], first_name="Many", last_name=str(number),
                       lead_status=status("Qualified"))
    with count_queries() as many:
        norwegian.get(url).data
    assert many.count == few.count


def test_r23_dialogs_and_refusals_name_categories_and_statuses_in_the_readers_language(
        swedish, sample):
    save_rules({("status_set", status("Qualified").id): {
        "enabled": True, "target_category_id": category("Customer").id, "ask_confirm": True}},
        Actor())
    anna = sample["anna"]
    moved = swedish.post("/board/move", headers=HTMX, data={
        "contact": anna.id, "status": status("Qualified").id, "version": anna.version})
    dialog = moved.data.decode()
    assert "föreslår Kund i stället för Lead" in dialog
    assert "Leadstatus satt till Kvalificerad" in dialog  # the rule's name
    LeadStatus.update(retired=True).where(LeadStatus.name == "Nurture").execute()
    refused = swedish.post(f"/contacts/{anna.id}/lead-status", headers=HTMX,
                           data={"lead_status": status("Nurture").id})
    assert refused.status_code == 409 and "Återbearbetning" in refused.data.decode()


def test_r23_admins_name_categories_and_groups_per_language(admin_client, swedish, sample):
    partner = category("Partner")
    response = admin_client.post(f"/settings/categories/{partner.id}/edit", data={
        "name": "Partner", "group": "partner", "description": "",
        "name_sv": "Återförsäljare", "description_sv": "Säljer vidare."})
    assert response.status_code == 302
    assert admin_client.post("/settings/categories/groups/partner/edit", data={
        "name": "Partner", "name_sv": "Samarbeten"}).status_code == 302
    move_company(sample["customer"], partner, Actor())
    card = swedish.get(f"/companies/{sample['customer'].id}").data.decode()
    assert ">Återförsäljare</option>" in card and "Samarbeten" in card
    # Left empty, a language falls back to the default name.
    admin_client.post("/settings/categories/groups/partner/edit", data={
        "name": "Partners", "name_sv": ""})
    assert "Partners" in swedish.get(f"/companies/{sample['customer'].id}").data.decode()


@pytest.mark.parametrize("data, field", [
    ({"name": "Lead", "name_sv": "Lead"}, "name"),  # the default name is taken
    ({"name": "Friends", "name_sv": "Kund"}, "name_sv"),  # Customer is Kund in Swedish
    ({"name": "Friends", "name_nb": "x" * 101}, "name_nb"),
])
def test_r23_category_names_clash_in_no_language(admin_client, users, data, field):
    response = admin_client.post(f"/settings/categories/{category('Partner').id}/edit",
                                 data={"group": "partner", "description": "", **data})
    assert response.status_code == 422
    assert re.search(rf'<input(?=[^>]*id="{field}")(?=[^>]*aria-invalid="true")',
                     response.data.decode())
    assert category("Partner").name_sv == "Partner"


def test_r23_unknown_group_and_bad_group_names_change_nothing(admin_client, users):
    assert admin_client.get("/settings/categories/groups/nonsense/edit").status_code == 404
    response = admin_client.post("/settings/categories/groups/lost/edit",
                                 data={"name": "Lost", "name_sv": "Kund"})
    assert response.status_code == 422
    assert CategoryGroup.get(CategoryGroup.code == "lost").name_sv == "Förlorad"


def test_r23_the_audit_log_is_readable(admin_client, users):
    """Names and readable changes, not JSON and ids ("target: None → 2", item 11)."""
    save_rules({("sale_sold", None): {"enabled": True,
                                      "target_category_id": category("Customer").id}},
               Actor(users["admin"]))
    admin_client.post("/settings/categories/groups/lost/edit",
                      data={"name": "Lost", "name_nb": "Tapte"})
    page = admin_client.get("/settings/audit").data.decode()
    entries = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "Set category to: Customer" in entries and "On: no → yes" in entries
    assert "Name (Norsk (bokmål)): Tapt → Tapte" in entries
    assert "target" not in entries and "None" not in entries and "{" not in entries


def test_r23_dashboard_tiles_and_drill_downs_in_the_readers_language(norwegian, sample):
    """Bars, funnel stages and a drill-down's caption name the lists in Norwegian."""
    response = norwegian.get("/dashboards")
    dashboard_id = int(response.location.rstrip("/").split("/")[-1])
    tiles = {t.kind: t.id for t in Tile.select().where(Tile.dashboard == dashboard_id)}
    statuses = norwegian.get(f"/dashboards/{dashboard_id}/tiles/{tiles['status_counts']}",
                             headers=HTMX).data.decode()
    assert ">Åpen</text>" in statuses and ">Varmes opp igjen</text>" in statuses
    funnel = norwegian.get(f"/dashboards/{dashboard_id}/tiles/{tiles['funnel']}",
                           headers=HTMX).data.decode()
    assert ">Markedsføringskvalifisert lead (MQL)</text>" in funnel and ">Kunde</text>" in funnel
    drill = norwegian.get(f"/dashboards/{dashboard_id}/tiles/{tiles['funnel']}/drill"
                          "?key=stage:2").data.decode()
    assert "Kvalifisert" in drill and "Qualified" not in drill
