"""The change feed across processes when transactions commit out of id order."""
import pytest
import models
from models import Actor, Contact, LeadStatus, User
from models.db import is_sqlite
from models.demo import DEMO_PASSWORD
from models.rules import set_lead_status

from .test_workers import HEARD_WITHIN, MANAGER, REP, a_move, moved
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
                assert stream.wait_for_contact(contact, HEARD_WITHIN) is not None
        assert stream.wait_for_contact(slow.id, HEARD_WITHIN) is not None, \
            "the change that committed late never reached the stream"
    finally:
        stream.close()
