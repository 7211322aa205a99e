"""The live feed's routes and the board's live updates, through the test client."""
import datetime
import json
import re

import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, LeadStatus, move_company, set_lead_status
from models.feed import latest_change_id

from .conftest import HTMX, sign_in


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def events_of(body):
    """[(event name, data, id)] of an event-stream body."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines()
                      if ": " in line and not line.startswith(":"))
        if "event" in fields:
            found.append((fields["event"], json.loads(fields.get("data", "null")),
                          fields.get("id")))
    return found


@pytest.fixture
def short_streams(app):
    app.config.update(FEED_STREAM_SECONDS=0.2)
    return app


@pytest.mark.parametrize("path", ["/events", "/events/poll", "/events/status"])
def test_the_feed_is_for_signed_in_users_only(app, sample, path):
    response = app.test_client().get(path)
    assert response.status_code == 401
    assert b"event:" not in response.data


@pytest.mark.parametrize("seen", ["\u00b2", "9" * 5000, "-5", "1e3", " ", "0x10", "\u0661"])
def test_a_last_event_id_that_is_no_plain_number_means_now(short_streams, client, sample, seen):
    """Last-Event-ID and ?after= that are not a plain ASCII number are taken as "now"."""
    response = client.get("/events", headers={"Last-Event-ID": seen})
    assert response.status_code == 200
    assert [name for name, _, _ in events_of(response.data.decode())] == []
    polled = client.get("/events/poll", query_string={"after": seen})
    assert polled.status_code == 200 and polled.get_json()["contacts"] == []


def test_a_reconnect_with_last_event_id_gets_what_it_missed(app, client, users, sample):
    # Streams of a second, and the feed read often: the change comes within it.
    app.config.update(FEED_STREAM_SECONDS=1)
    app.extensions["feed"].poll_seconds = 0.05
    first = client.get("/events").data.decode()
    resume = re.findall(r"^id: (\d+)$", first, re.M)[-1]
    set_lead_status(Contact.get_by_id(sample["anna"].id), status("Qualified"),
                    Actor(users["manager"]))
    again = events_of(client.get("/events", headers={"Last-Event-ID": resume}).data.decode())
    assert [(name, data["contacts"]) for name, data, _ in again] == \
        [("changed", [sample["anna"].id])]
    assert int(again[0][2]) >= latest_change_id()
    # Coming back with the id it was given: nothing new.
    assert events_of(client.get("/events", headers={"Last-Event-ID": again[0][2]})
                     .data.decode()) == []


def test_past_the_limit_a_stream_is_told_busy_and_ends(app, client, sample):
    app.extensions["feed"].max_streams = 0
    response = client.get("/events")
    assert response.status_code == 200
    assert [name for name, _, _ in events_of(response.data.decode())] == ["busy"]
    assert client.get("/events/poll").status_code == 200  # the fallback still answers


def test_feed_status_is_for_admins(admin_client, client, sample):
    assert client.get("/events/status").status_code == 403
    status_now = admin_client.get("/events/status").get_json()
    assert status_now["streams"] == 0 and status_now["max_streams"] > 0


def test_poll_names_the_owners_a_change_concerns(client, users, sample):
    last = latest_change_id()
    set_lead_status(Contact.get_by_id(sample["anna"].id), status("Qualified"),
                    Actor(users["manager"]))
    news = client.get(f"/events/poll?after={last}").get_json()
    assert news["contacts"] == [sample["anna"].id]
    assert news["owners"] == [users["rep"].id]
    assert news["companies"] == []  # no company changed category


# --- The board's live updates ------------------------------------------------------

def changes(client, query):
    response = client.get(f"/board/changes?{query}", headers=HTMX)
    assert response.status_code == 200
    return response.data.decode()


def test_r25_a_follow_up_on_a_company_reaches_its_contacts_cards_on_open_boards(
        client, users, sample):
    """The poll names the company; the board's update brings each of its contacts' cards
    with the company's follow-up as their next step."""
    from models.activities import add_activity
    last = latest_change_id()
    add_activity(users["rep"], "follow_up", "Visit the office", company=sample["lead"],
                 due_at=datetime.datetime(2026, 12, 3, 10, 0))
    news = client.get(f"/events/poll?after={last}").get_json()
    assert news["companies"] == [sample["lead"].id] and news["contacts"] == []
    body = changes(client, f"owner=all&companies={sample['lead'].id}")
    for contact in (sample["anna"], sample["bo"]):
        card = body.split(f'id="card-{contact.id}"')[1].split("</li>")[0]
        assert "Visit the office · " in card


def test_a_live_update_sends_the_moved_card_in_its_new_column_and_every_count(
        client, users, sample):
    anna = sample["anna"]
    set_lead_status(Contact.get_by_id(anna.id), status("Qualified"), Actor(users["manager"]))
    body = changes(client, f"contacts={anna.id}")
    card = re.search(rf'<li class="card" id="card-{anna.id}"[^>]*>', body).group(0)
    assert f'data-column="{status("Qualified").id}"' in card
    assert json.loads(re.search(r"data-sort='([^']*)'", card).group(1)) == \
        ["Berg", "Anna", anna.id]
    counts = dict(re.findall(r'<span data-count-key="(\d+)">(\d+)</span>', body))
    assert counts[str(status("Qualified").id)] == "1" and counts[str(status("Open").id)] == "0"
    assert f'data-looked-at="{anna.id}"' in body


def test_contacts_that_left_the_board_are_named_but_not_sent(client, users, sample):
    """R8: a company moved to a category without lead status takes its contacts off."""
    anna, lead = sample["anna"], sample["lead"]
    move_company(lead, Category.get(name="Customer"), Actor(users["manager"]))
    body = changes(client, f"companies={lead.id}")
    looked_at = re.search(r'data-looked-at="([^"]*)"', body).group(1).split(",")
    assert str(anna.id) in looked_at and str(sample["bo"].id) in looked_at
    assert f'id="card-{anna.id}"' not in body


def test_a_live_update_costs_the_same_few_queries_for_one_card_or_many(client, users, sample):
    ids = [sample["anna"].id, sample["bo"].id, sample["cai"].id]
    changes(client, f"contacts={ids[0]}")
    with count_queries() as one:
        changes(client, f"contacts={ids[0]}")
    with count_queries() as three:
        changes(client, "contacts=" + ",".join(map(str, ids)) + f"&companies={sample['lead'].id}")
    assert three.count <= one.count + 1  # the companies' contacts: one more query


@pytest.mark.parametrize("query", [
    "contacts=abc,99999999999999999999999,-1,%C2%B2", "contacts=", "companies=1e5",
    "contacts=" + ",".join(["7"] * 5000),
])
def test_junk_in_a_live_update_is_ignored(client, sample, query):
    body = changes(client, query)
    assert 'class="card"' not in body


def test_the_live_update_url_opened_in_the_browser_shows_the_board(client, sample):
    response = client.get("/board/changes?contacts=1")
    assert response.status_code == 302 and "/board" in response.location


def test_a_reps_board_follows_only_the_reps_leads_and_a_managers_everyones(app, client, users,
                                                                          sample):
    mine = client.get("/board").data.decode()
    assert f'data-live-owner="{users["rep"].id}"' in mine
    manager = sign_in(app.test_client(), "manager@example.test")
    everyone = manager.get("/board?owner=all").data.decode()
    assert 'data-live-owner="all"' in everyone
