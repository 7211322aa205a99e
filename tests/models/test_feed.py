"""The change feed and its one reader per server process (models/feed.py)."""
import threading
import time

import pytest

import models
from tests.conftest import POSTGRES_URL
from models import Actor, Category, Contact, History, LeadStatus, User, create_company, \
    create_contact, move_company, set_lead_status
from models.db import is_sqlite
from models.feed import (BULK, BULK_ROWS, Behind, Busy, Change, FeedHub, changes_after,
                         latest_change_id, parse_announcement, summarize)


@pytest.fixture
def lead(db):
    rita = User.create(email="rita@example.test", name="Rita", password_hash="x", role="rep")
    company = create_company(Actor(), name="Fjällbo AB", category=Category.get(name="Lead"))
    anna = create_contact(company, Actor(), first_name="Anna", last_name="Berg", owner=rita)
    bo = create_contact(company, Actor(), first_name="Bo", last_name="Ek")
    return company, anna, bo, rita


@pytest.fixture
def hub(db):
    feed = FeedHub(models.database.obj, poll_seconds=0.02, gap_seconds=30)
    yield feed
    feed.close()


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def change(row_id, contact=1, owners=(1,)):
    return Change(row_id, History.LEAD_STATUS, 1, contact, frozenset(owners))


def test_changes_name_the_owners_they_concern(lead):
    company, anna, bo, rita = lead
    last = latest_change_id()
    set_lead_status(Contact.get_by_id(anna.id), status("Qualified"), Actor())
    move_company(company, Category.get(name="Opportunity"), Actor())
    status_change, category_change = changes_after(last)
    assert (status_change.contact, status_change.owners) == (anna.id, {rita.id})
    # A category change concerns every contact of the company: Rita's and nobody's.
    assert category_change.contact is None and category_change.owners == {rita.id, 0}


def test_an_owner_change_concerns_the_old_and_the_new_owner(lead):
    from models import assign_owner
    company, anna, bo, rita = lead
    last = latest_change_id()
    assign_owner(Contact.get_by_id(bo.id), rita, Actor())
    assign_owner(Contact.get_by_id(anna.id), None, Actor())
    handed, dropped = changes_after(last)
    assert handed.owners == {0, rita.id} and dropped.owners == {rita.id, 0}


def test_the_hub_reads_a_change_once_and_every_stream_waiting_gets_it(lead, hub):
    company, anna, bo, rita = lead
    hub.ensure_running()
    start = hub.position()
    got = []

    def stream():
        got.append(hub.wait(start, timeout=10)[1])

    streams = [threading.Thread(target=stream) for _ in range(5)]
    for thread in streams:
        thread.start()
    set_lead_status(Contact.get_by_id(anna.id), status("Qualified"), Actor())
    for thread in streams:
        thread.join(timeout=10)
    assert [[c.contact for c in changes] for changes in got] == [[anna.id]] * 5


def test_a_stream_further_behind_than_the_hub_remembers_is_told_so(db):
    hub = FeedHub(models.database.obj, buffer_size=3)
    hub.add([change(n) for n in range(1, 4)])
    assert [c.id for c in hub.changes_since(0)] == [1, 2, 3]
    hub.add([change(4)])
    with pytest.raises(Behind):
        hub.changes_since(0)
    assert [c.id for c in hub.changes_since(1)] == [2, 3, 4]


def test_a_change_brought_twice_is_streamed_once(db):
    """The catch-up read made when listening starts and the commit's notification can
    both bring the same change: streams get it once; a late id still comes through."""
    hub = FeedHub(models.database.obj)
    hub.add([change(1), change(3)])
    hub.add([change(3), change(1)])
    hub.add([change(2)])
    assert [c.id for c in hub.changes_since(0)] == [1, 3, 2]


def test_a_late_id_is_remembered_so_a_reconnect_cannot_skip_it(db):
    """PostgreSQL hands out ids at INSERT: id 11 may commit after 12 was streamed."""
    hub = FeedHub(models.database.obj, gap_seconds=30)
    hub.ensure_running()
    top = latest_change_id()
    try:
        hub.add([change(top + 1)], now=0)
        hub.add([change(top + 3)], now=1)
        assert hub.resume_id(now=1) == top + 1  # top + 2 is still being written
        hub.add([change(top + 2)], now=2)
        assert hub.resume_id(now=2) == top + 3
        hub.add([change(top + 6)], now=3)  # top + 4 and 5 never commit (rolled back)
        assert hub.resume_id(now=3) == top + 3
        assert hub.resume_id(now=3 + 30) == top + 6  # given up after gap_seconds
    finally:
        hub.close()


def test_many_changes_at_once_are_one_change_of_everything(lead, hub):
    company, anna, bo, rita = lead
    hub.ensure_running()
    seq = hub.position()
    rows = [{"kind": History.LEAD_STATUS, "company": company.id, "contact": anna.id}
            for _ in range(BULK_ROWS + 5)]
    History.insert_many(rows).execute()
    hub.sync()
    news = hub.changes_since(seq)
    assert [c.kind for c in news] == [BULK]
    assert summarize(news) == {"all": True}
    assert hub.resume_id() == latest_change_id()


def test_a_reconnect_is_answered_from_memory_when_the_hub_saw_everything(lead):
    company, anna, bo, rita = lead
    hub = FeedHub(models.database.obj, poll_seconds=600)  # reads only when told to
    hub.ensure_running()
    assert hub.wait_until_caught_up(10)
    seen = hub.resume_id()
    set_lead_status(Contact.get_by_id(anna.id), status("Qualified"), Actor())
    hub.sync()
    reads = hub.stats["queries"]
    _, missed = hub.changes_after_id(seen)
    assert [c.contact for c in missed] == [anna.id] and hub.stats["queries"] == reads
    # From before the hub started: the database is asked.
    _, older = hub.changes_after_id(0)
    assert hub.stats["queries"] == reads + 1 and anna.id in {c.contact for c in older}
    hub.close()


def test_past_its_limit_the_hub_refuses_streams(db):
    hub = FeedHub(models.database.obj, max_streams=2)
    try:
        hub.open_stream()
        hub.open_stream()
        with pytest.raises(Busy):
            hub.open_stream()
        hub.close_stream()
        hub.open_stream()
        assert hub.streams == 2
    finally:
        hub.close()


def test_closing_ends_every_wait_at_once(db):
    hub = FeedHub(models.database.obj)
    ended = []
    # The wait would last an hour: only the close can end it before the join gives up.
    waiter = threading.Thread(target=lambda: ended.append(hub.wait(hub.position(), 3600)),
                              daemon=True)
    waiter.start()
    hub.close()
    waiter.join(timeout=60)
    assert not waiter.is_alive() and ended and hub.closing


def test_an_idle_hub_stops_reading(db):
    hub = FeedHub(models.database.obj, poll_seconds=0.01, idle_seconds=0.05)
    hub.ensure_running()
    deadline = time.monotonic() + 60  # waited for, not timed
    while hub.status()["reading"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not hub.status()["reading"]
    hub.close()


@pytest.mark.parametrize("payload, expected", [
    ("12,13,15", ({12, 13, 15}, [])),
    ("12-900", (set(), [(12, 900)])),
    ("", (set(), [])),
    ("x,-3,\u00b2,7-,1-2-3", (set(), [])),
])
def test_announcements_are_read_strictly(payload, expected):
    assert parse_announcement(payload) == expected


def test_the_news_of_a_batch_names_contacts_companies_and_owners():
    batch = [change(1, contact=5, owners=(3,)),
             Change(2, History.CATEGORY, 9, None, frozenset({0, 4}))]
    assert summarize(batch) == {"contacts": [5], "companies": [9], "owners": [0, 3, 4],
                                "kinds": [History.CATEGORY, History.LEAD_STATUS]}
    many = [change(n, contact=n) for n in range(1, 300)]
    assert summarize(many) == {"all": True}


def test_postgresql_announces_each_commit_and_the_hub_never_polls(lead, hub):
    """On PostgreSQL the trigger of migration 0014 sends NOTIFY with the new ids at commit."""
    if is_sqlite():
        pytest.skip("SQLite's reader asks the table; NOTIFY is PostgreSQL's")
    company, anna, bo, rita = lead
    hub.ensure_running()
    assert hub.wait_until_caught_up(10)
    reads, quiet = hub.stats["queries"], hub.stats["quiet_seconds"]
    # Two of the listener's one-second waits pass with nothing announced.
    deadline = time.monotonic() + 30  # waited for, not timed
    while hub.stats["quiet_seconds"] < quiet + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.stats["quiet_seconds"] >= quiet + 2
    assert hub.stats["queries"] == reads, "the reader asked the table while nothing happened"
    seq = hub.position()
    set_lead_status(Contact.get_by_id(anna.id), status("Qualified"), Actor())
    _, news = hub.wait(seq, timeout=5)
    assert [c.contact for c in news] == [anna.id]
    assert hub.stats["notifications"] >= 1


def test_postgresql_a_change_committed_late_reaches_the_hub(lead, hub):
    """The id of a slow transaction is below the newer one streamed first; it still comes,
    and the resume id stays below it until it does."""
    if is_sqlite():
        pytest.skip("SQLite writers take turns: ids always commit in order")
    company, anna, bo, rita = lead
    hub.ensure_running()
    assert hub.wait_until_caught_up(10)
    slow = models.make_database(POSTGRES_URL)  # a second connection: another request
    slow.connect()
    try:
        slow.execute_sql("BEGIN")
        slow.execute_sql("INSERT INTO history (kind, created_at, company_id, contact_id, source,"
                         " source_label) VALUES ('lead_status', now(), %s, %s, 'user', '')",
                         (company.id, bo.id))
        seq = hub.position()
        set_lead_status(Contact.get_by_id(anna.id), status("Qualified"), Actor())
        seq, news = hub.wait(seq, timeout=5)
        assert [c.contact for c in news] == [anna.id]
        assert hub.resume_id() < news[0].id  # the slow one's id is still missing
        slow.execute_sql("COMMIT")
        _, late = hub.wait(seq, timeout=5)
        assert [c.contact for c in late] == [bo.id]
        assert hub.resume_id() == latest_change_id()
    finally:
        slow.close_all()
