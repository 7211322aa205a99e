"""The board's side panel: ?contact=<id> shows a contact beside the board (issue 20)."""
import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, create_company, create_contact
from models.trash import delete_contact

from .conftest import HTMX

PANEL = {**HTMX, "HX-Target": "card-preview"}


def test_a_card_name_opens_its_contact_in_the_side_panel(client, sample):
    """The card's link is the board's own address with ?contact=, fetched into the panel."""
    anna = sample["anna"]
    page = client.get("/board").data.decode()
    link = "/board?owner=me&amp;sort=name&amp;group=status&amp;contact=" + str(anna.id)
    assert f'class="card-name" href="{link}" hx-get="{link}"' in page
    assert 'hx-target="#card-preview"' in page and 'hx-push-url="true"' in page
    assert '<aside id="card-preview" class="preview-panel"' in page


def test_r8_the_panel_shows_the_status_in_place_next_step_and_timeline(client, sample):
    """A linkable full page: the board with the contact's card beside it; the status is
    edited in place there (R8) and the timeline is the card's."""
    anna = sample["anna"]
    response = client.get(f"/board?contact={anna.id}")
    page = response.data.decode()
    assert response.status_code == 200
    assert 'id="board-columns"' in page  # the board is still there
    panel = page[page.index('<aside id="card-preview"'):]
    assert f'data-preview="{anna.id}"' in panel
    assert "Anna Berg" in panel and 'id="lead-status"' in panel
    assert f'hx-get="/contacts/{anna.id}/lead-status?edit=1"' in panel
    assert 'id="activities"' in panel and 'id="timeline"' in panel
    # Close: the board without ?contact
    assert 'href="/board?owner=me&amp;sort=name&amp;group=status" hx-get=' in panel


def test_the_panel_alone_answers_htmx(client, sample):
    """An htmx request for the panel gets the panel only, not the columns."""
    anna = sample["anna"]
    response = client.get(f"/board?contact={anna.id}", headers=PANEL)
    body = response.data.decode()
    assert body.lstrip().startswith('<aside id="card-preview"') and "board-columns" not in body
    assert "HX-Target" in response.headers["Vary"]
    closed = client.get("/board", headers=PANEL).data.decode()
    assert closed.lstrip().startswith('<aside id="card-preview"') and " hidden>" in closed


def test_the_panel_keeps_the_boards_filters(client, sample):
    """Close goes back to the same board (its filters), and the cards link with them."""
    anna = sample["anna"]
    page = client.get("/board?owner=all&sort=days").data.decode()
    board = "/board?owner=all&amp;sort=days&amp;group=status"
    assert f'href="{board}&amp;contact={anna.id}"' in page
    panel = client.get(f"/board?owner=all&sort=days&contact={anna.id}", headers=PANEL)
    assert f'href="{board}" hx-get="{board}"' in panel.data.decode()


@pytest.mark.parametrize("raw", ["424242", "99999999999999999999", "-1", "abc", "", "²"])
def test_unknown_contacts_get_a_message_in_the_panel(client, sample, raw):
    """Unknown, huge or junk ids: the board with a clear message in the panel, no 500."""
    response = client.get(f"/board?contact={raw}")
    assert response.status_code == 404
    page = response.data.decode()
    assert 'id="board-columns"' in page
    assert "This contact does not exist, or it was deleted." in page
    fragment = client.get(f"/board?contact={raw}", headers=PANEL)
    assert fragment.status_code == 200  # htmx swaps it into the panel
    assert "This contact does not exist, or it was deleted." in fragment.data.decode()


def test_a_deleted_contact_gets_the_message(client, sample, users):
    anna = sample["anna"]
    delete_contact(anna.id, Actor(users["admin"]))
    fragment = client.get(f"/board?contact={anna.id}", headers=PANEL).data.decode()
    assert "This contact does not exist, or it was deleted." in fragment


def test_the_panel_costs_the_same_queries_however_big_the_board(client, users):
    """Opening the panel asks a fixed number of queries, not one per card."""
    actor = Actor(users["rep"])
    company = create_company(actor, name="A", category=Category.get(name="Lead"))
    first = create_contact(company, actor, first_name="A", last_name="A", owner=users["rep"])

    def queries():
        with count_queries() as counter:
            assert client.get(f"/board?contact={first.id}").status_code == 200
        return counter.count
    few = queries()
    for number in range(30):
        company = create_company(actor, name=f"C{number}", category=Category.get(name="Lead"))
        create_contact(company, actor, first_name="B", last_name=str(number), owner=users["rep"])
    assert queries() == few
