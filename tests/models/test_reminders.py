"""R26: reminders — assignment notices, the daily digest, the outbox and real SMTP."""
import datetime
import email
import socket
import threading
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from models import Actor, Category, User, create_company, create_contact
from models import reminders
from models.activities import add_activity
from models.bulk import bulk_set_owner
from models.engine import set_owner
from models.reminders import (DigestDay, Mail, Notice, configure_mail, mark_read,
                              send_due_digests, send_pending, unread_count)
from models.search import Criteria, run_criteria


def make(email_address, role, language="en"):
    user = User(email=email_address, name=email_address.split("@")[0].title(), role=role,
                language=language)
    user.set_password("secret")
    user.save()
    return user


@pytest.fixture
def people(db):
    configure_mail({})  # the outbox, whatever an earlier test configured
    yield {"rep": make("rep@example.test", "rep"),
           "sven": make("sven@example.test", "rep", language="sv"),
           "manager": make("manager@example.test", "manager")}
    configure_mail({})


@pytest.fixture
def leads(people):
    manager = Actor(people["manager"])
    company = create_company(manager, name="Fjällbo AB", category=Category.get(name="Lead"))
    return [create_contact(company, manager, first_name=name, last_name="Berg")
            for name in ("Anna", "Bo", "Cai")]


def test_r26_an_assignment_by_someone_else_is_one_notice_and_one_mail_per_batch(people, leads):
    set_owner([lead.id for lead in leads], people["sven"], Actor(people["manager"]))
    notice = Notice.get()
    mail = Mail.get()
    assert (Notice.select().count(), Mail.select().count()) == (1, 1)
    assert (notice.user_id, notice.data["count"], mail.notice_id) == \
        (people["sven"].id, 3, notice.id)
    # In Sven's language, naming the leads and who handed them over.
    assert mail.subject == "3 leads har tilldelats dig"
    assert "Anna Berg, Fjällbo AB" in mail.body and "Manager" in mail.body
    assert mail.to_address == "sven@example.test" and mail.state == "pending"


def test_r26_giving_leads_to_oneself_or_again_to_the_same_owner_tells_nobody(people, leads):
    set_owner([leads[0].id], people["rep"], Actor(people["rep"]))
    assert Notice.select().count() == 0
    set_owner([leads[1].id], people["rep"], Actor(people["manager"]))
    set_owner([leads[1].id], people["rep"], Actor(people["manager"]))  # unchanged: no news
    assert Notice.select().count() == 1


def test_r26_a_bulk_owner_change_tells_each_new_owner_once(people, leads):
    matches = run_criteria(Criteria("contacts"), people["manager"])
    bulk_set_owner(matches, people["rep"], Actor(people["manager"]),
                   ids=[lead.id for lead in leads])
    assert [(n.user_id, n.data["count"]) for n in Notice.select()] == [(people["rep"].id, 3)]


def test_r26_a_deactivated_user_gets_no_mail_even_when_it_waited(people, leads):
    set_owner([leads[0].id], people["rep"], Actor(people["manager"]))
    User.update(active=False).where(User.id == people["rep"].id).execute()
    assert send_pending() == {"skipped": 1}
    assert Mail.get().state == "skipped"


def test_r26_mails_go_to_the_outbox_without_smtp_and_never_twice(people, leads):
    set_owner([leads[0].id], people["rep"], Actor(people["manager"]))
    assert send_pending() == {"outbox": 1}
    assert send_pending() == {}
    assert Mail.get().state == "outbox"


def test_r26_notices_are_read_by_their_user_only(people, leads):
    set_owner([leads[0].id], people["rep"], Actor(people["manager"]))
    notice = Notice.get()
    assert unread_count(people["rep"]) == 1
    assert mark_read(people["sven"], notice.id) == 0
    assert mark_read(people["rep"], notice.id) == 1
    assert unread_count(people["rep"]) == 0


# --- The daily digest -------------------------------------------------------------------------

MORNING = datetime.datetime(2026, 12, 3, 8, 5)


def follow_up(people, lead, text, due_at, owner="rep"):
    return add_activity(people[owner], "follow_up", text, contact=lead, due_at=due_at)


def test_r26_the_digest_lists_overdue_and_todays_follow_ups_once_a_day(people, leads):
    set_owner([lead.id for lead in leads], people["rep"], Actor(people["rep"]))
    follow_up(people, leads[0], "Demo", datetime.datetime(2026, 12, 3, 10, 0))
    follow_up(people, leads[1], "Call back", datetime.datetime(2026, 12, 1, 9, 0))
    follow_up(people, leads[2], "Offer", datetime.datetime(2026, 12, 4, 9, 0))  # tomorrow
    assert send_due_digests(MORNING - datetime.timedelta(minutes=10)) == 0  # 07:55: not yet
    assert send_due_digests(MORNING) == 1
    assert send_due_digests(MORNING + datetime.timedelta(minutes=5)) == 0
    mail = Mail.get()
    assert mail.subject == "2 follow-ups due: Thursday 3 December"
    overdue, today = mail.body.index("Overdue"), mail.body.index("Due today")
    assert overdue < mail.body.index("Call back · Bo Berg") < today < \
        mail.body.index("Demo · Anna Berg, Fjällbo AB · 10:00")
    assert "Offer" not in mail.body


def test_r26_no_digest_when_nothing_is_due_nor_for_deactivated_users(people, leads):
    follow_up(people, leads[0], "Demo", datetime.datetime(2026, 12, 3, 10, 0), owner="sven")
    User.update(active=False).where(User.id == people["sven"].id).execute()
    assert send_due_digests(MORNING) == 0
    assert Mail.select().count() == 0
    # The day is done for the active users (nothing due), never for the deactivated one.
    assert {d.user_id for d in DigestDay.select()} == {people["rep"].id, people["manager"].id}


def test_r26_the_digest_comes_at_the_time_the_user_chose(people, leads):
    reminders.set_digest_time(people["rep"], "10:30")
    follow_up(people, leads[0], "Demo", datetime.datetime(2026, 12, 3, 11, 0))
    assert send_due_digests(MORNING) == 0
    assert send_due_digests(MORNING.replace(hour=10, minute=30)) == 1
    reminders.set_digest_time(people["rep"], "")
    assert send_due_digests(MORNING.replace(day=4, hour=12)) == 0


def test_r26_a_digest_time_off_the_list_is_refused(people):
    with pytest.raises(reminders.RuleViolation):
        reminders.set_digest_time(people["rep"], "25:00")
    assert User.get_by_id(people["rep"].id).digest_time == "08:00"


# --- Real SMTP ---------------------------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos,
                              email.message_from_bytes(envelope.content, policy=default_policy)))
        self.arrived.set()
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port, for the length of a test."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_r26_the_mail_arrives_through_a_real_smtp_server(people, leads, smtp_server):
    controller, inbox = smtp_server
    configure_mail({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": controller.port,
                    "MAIL_FROM": "Tavla <tavla@example.test>",
                    "BASE_URL": "https://tavla.example.test"})
    set_owner([leads[0].id, leads[1].id], people["sven"], Actor(people["manager"]))
    assert send_pending() == {"sent": 1}
    assert inbox.arrived.wait(10)
    recipients, message = inbox.messages[0]
    assert recipients == ["sven@example.test"]
    assert message["Subject"] == "2 leads har tilldelats dig"
    assert message["From"] == "Tavla <tavla@example.test>"
    assert message["Content-Language"] == "sv"
    body = message.get_content()
    assert body.startswith("Hej Sven,")
    assert "Öppna Tavla: https://tavla.example.test/my-day" in body
    assert Mail.get().state == "sent"


def test_r26_a_refused_connection_is_tried_again_later_then_marked_failed(people, leads):
    configure_mail({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port(), "SMTP_TIMEOUT": 2})
    set_owner([leads[0].id], people["rep"], Actor(people["manager"]))
    for _ in range(reminders.MAX_ATTEMPTS - 1):
        assert send_pending() == {"pending": 1}
    assert send_pending() == {"failed": 1}
    mail = Mail.get()
    assert (mail.state, mail.attempts) == ("failed", reminders.MAX_ATTEMPTS) and mail.error
