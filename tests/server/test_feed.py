"""The change feed across processes when transactions commit out of id order."""
import pytest
from peewee import fn

import models
from models import Actor, Contact, History, LeadStatus, User
from models.db import is_sqlite
from models.demo import DEMO_PASSWORD
from models.rules import set_lead_status
from views.events import GAP_SECONDS, FeedCursor

from .test_workers import LIVE_SECONDS, MANAGER, REP, a_move, moved
from .webclient import Browserless


def test_a_change_committed_after_a_newer_one_still_reaches_the_stream(start_server):
    """PostgreSQL gives a history row its id at INSERT: a slow transaction can commit
    after a newer change was streamed, and the stream must not skip it."""
    db = models.database
    if is_sqlite():
        pytest.skip("SQLite writers take turns: history ids always commit in order")
    server = start_server().wait_until_serving()
    rep = Browserless(server.url).login(REP, DEMO_PASSWORD)
    stream = Browserless(server.url).login(MANAGER, DEMO_PASSWORD).events()
    try:
        assert stream.opened.wait(5)
        contact, version, _, target = a_move(rep)
        with db.connection_context():
            slow = (Contact.select().where(Contact.company != Contact.get_by_id(contact).company,
                                           Contact.lead_status.is_null(False))
                    .order_by(Contact.id).first())
            status = LeadStatus.select().where(LeadStatus.id != slow.lead_status_id).first()
            with db.atomic():
                # This history row takes its id now and commits only at the end.
                set_lead_status(slow, status, Actor(User.get(User.email == REP)))
                moved(rep, contact, target, version)
                assert stream.wait_for_contact(contact, LIVE_SECONDS) is not None
        assert stream.wait_for_contact(slow.id, LIVE_SECONDS) is not None, \
            "the change that committed late never reached the stream"
    finally:
        stream.close()


def test_the_stream_cursor_delivers_late_ids_and_gives_up_after_a_while(demo_database):
    """FeedCursor: an id skipped over is asked for again until GAP_SECONDS pass."""
    db = models.database
    with db.connection_context():
        contacts = list(Contact.select().order_by(Contact.id).limit(3))
        top = History.select(fn.MAX(History.id)).scalar()

        def write(row_id, contact):
            History.insert(id=row_id, kind=History.LEAD_STATUS, company=contact.company_id,
                           contact=contact.id).execute()

        cursor = FeedCursor(top)
        write(top + 2, contacts[0])  # top + 1 is still being written elsewhere
        assert [c[3] for c in cursor.read(now=0)] == [contacts[0].id]
        assert cursor.resume_id() == top  # a reconnect must not skip the gap
        assert cursor.read(now=1) == []
        write(top + 1, contacts[1])
        assert [c[3] for c in cursor.read(now=2)] == [contacts[1].id]
        assert cursor.resume_id() == top + 2 and cursor.read(now=3) == []

        write(top + 4, contacts[2])  # top + 3 never commits (rolled back)
        assert [c[3] for c in cursor.read(now=10)] == [contacts[2].id]
        assert cursor.resume_id() == top + 2
        cursor.read(now=10 + GAP_SECONDS)
        assert cursor.resume_id() == top + 4
