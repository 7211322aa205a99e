"""R31: webhooks from the history rows, signed, retried, in order per record."""
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from models import Actor, Category, LeadStatus, RuleViolation, User, create_company, create_contact
from models.rules import assign_owner, move_company, set_lead_status
from models.schema import now
from models.webhooks import (FIRST_RETRY, WebhookDelivery, collect_events, create_webhook,
                             deliver_due, send_test)


class Receiver:
    """A local HTTP server that checks signatures and refuses the first `refuse` posts."""

    def __init__(self, refuse=0, status=500):
        self.received, self.refused, self.refuse, self.status = [], 0, refuse, status
        self.secret = None
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["Tavla-Timestamp"]
                expected = hmac.new(receiver.secret.encode(), f"{stamp}.".encode() + body,
                                    hashlib.sha256).hexdigest()
                good = hmac.compare_digest(self.headers["Tavla-Signature"],
                                           "sha256=" + expected)
                if receiver.refused < receiver.refuse:
                    receiver.refused += 1
                    self.send_response(receiver.status)
                    if receiver.status == 302:
                        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                else:
                    with receiver.arrived:
                        receiver.received.append((good, self.headers["Tavla-Delivery"],
                                                  json.loads(body)))
                        receiver.arrived.notify_all()
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=30):
        """Wait until `count` deliveries arrived (the timeout only ends a broken run)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
        return len(self.received)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(**options):
        made.append(Receiver(**options))
        return made[-1]
    yield make
    for server in made:
        server.close()


@pytest.fixture
def lead(db):
    admin = User.create(email="a@example.test", name="Admin", role="admin", password_hash="x")
    company = create_company(Actor(admin), name="Fjällbo AB", category=Category.get(name="Lead"))
    contact = create_contact(company, Actor(admin), first_name="Anna", last_name="Berg")
    return admin, company, contact


def test_r31_changes_are_signed_retried_and_in_order(lead, receiver):
    """A receiver that refuses twice gets every change after the retries, each once,
    signed, in the order they were made."""
    admin, company, contact = lead
    server = receiver(refuse=2)
    hook = create_webhook(server.url, ["lead_status_changed", "owner_changed"], admin)
    server.secret = hook.secret
    for name in ("Contacting", "Qualified", "Nurture"):
        set_lead_status(contact, LeadStatus.get(name=name), Actor(admin))
    assign_owner(contact, admin, Actor(admin))
    move_company(company, Category.get(name="Customer"), Actor(admin))  # not subscribed
    assert collect_events() == 4
    assert collect_events() == 0  # each change is queued once
    start = now()
    assert deliver_due(at=start) == 0  # refused: the later ones wait behind it
    assert WebhookDelivery.select().where(WebhookDelivery.state == "delivered").count() == 0
    assert deliver_due(at=start + FIRST_RETRY / 2) == 0  # not due yet: nothing sent
    assert server.refused == 1
    assert deliver_due(at=start + FIRST_RETRY) == 0  # the second refusal
    assert deliver_due(at=start + FIRST_RETRY * 3) == 4
    assert server.refused == 2
    events = [payload["event"] for _, _, payload in server.received]
    assert events == ["lead_status_changed"] * 3 + ["owner_changed"]
    statuses = [payload["data"]["to_lead_status_id"] for _, _, payload in server.received[:3]]
    assert statuses == [LeadStatus.get(name=n).id for n in ("Contacting", "Qualified", "Nurture")]
    assert all(good for good, _, _ in server.received)
    assert [int(d) for _, d, _ in server.received] == sorted(int(d) for _, d, _ in server.received)
    first = WebhookDelivery.select().order_by(WebhookDelivery.id).first()
    assert (first.attempts, first.state, first.response_status) == (3, "delivered", 204)


def test_r31_redirects_are_not_followed(lead, receiver):
    admin, _, _ = lead
    server = receiver(refuse=1, status=302)
    hook = create_webhook(server.url, ["owner_changed"], admin)
    server.secret = hook.secret
    send_test(hook)
    assert deliver_due() == 0
    delivery = WebhookDelivery.get()
    assert delivery.state == "pending" and delivery.response_status == 302
    assert server.received == []


def test_r31_a_wrong_secret_fails_the_receivers_check(lead, receiver):
    admin, _, _ = lead
    server = receiver()
    hook = create_webhook(server.url, ["owner_changed"], admin)
    server.secret = "not the secret"
    send_test(hook)
    assert deliver_due() == 1
    [(good, _, payload)] = server.received
    assert not good and payload["event"] == "test"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/x", "", "http://x"])
def test_r31_only_web_addresses_subscribe(lead, url):
    admin, _, _ = lead
    with pytest.raises(RuleViolation):
        create_webhook(url, ["owner_changed"], admin)


def test_r31_an_unreachable_receiver_fails_after_the_last_attempt(lead, monkeypatch):
    admin, _, _ = lead
    monkeypatch.setattr("models.webhooks.MAX_ATTEMPTS", 2)
    hook = create_webhook("http://127.0.0.1:9/closed", ["owner_changed"], admin)
    send_test(hook)
    start = now()
    deliver_due(at=start)
    deliver_due(at=start + timedelta(hours=1))
    delivery = WebhookDelivery.get()
    assert delivery.state == "failed" and delivery.attempts == 2 and delivery.error


@pytest.fixture
def empty_queue(db):
    """The job queue in memory, empty, with the tasks registered."""
    from huey.storage import MemoryStorage

    from models import tasks
    from models.jobs import queue
    saved = queue.storage
    queue.storage = MemoryStorage("tavla")
    yield tasks
    queue.storage = saved


def test_r31_a_committed_change_wakes_the_sender_once(lead, empty_queue):
    """A change puts one webhook run on the queue when its transaction commits; more
    changes before that run starts add none, a rolled-back change none."""
    from models.db import database
    from models.jobs import queue
    admin, _, contact = lead
    set_lead_status(contact, LeadStatus.get(name="Contacting"), Actor(admin))
    assert len(queue) == 0  # nobody subscribes: no run
    create_webhook("https://example.com/hook", ["lead_status_changed"], admin)
    with pytest.raises(ZeroDivisionError), database.atomic():
        set_lead_status(contact, LeadStatus.get(name="Qualified"), Actor(admin))
        1 / 0
    assert len(queue) == 0
    with database.atomic():
        set_lead_status(contact, LeadStatus.get(name="Qualified"), Actor(admin))
        assert len(queue) == 0  # not before the commit
    assert len(queue) == 1
    set_lead_status(contact, LeadStatus.get(name="Nurture"), Actor(admin))
    assert len(queue) == 1  # the waiting run sends that one too
    queue.delete(empty_queue.WAKE)  # as a run does when it starts
    set_lead_status(contact, LeadStatus.get(name="Open"), Actor(admin))
    assert len(queue) == 2


@pytest.fixture
def worker_without_schedule(database_url):
    """A job consumer that runs queued tasks only: no run every minute."""
    from models.jobs import bind_queue, start_consumer, stop_consumer
    bind_queue(database_url)
    consumer = start_consumer(workers=2, periodic=False)
    yield consumer
    stop_consumer(consumer)


def test_r31_a_change_arrives_without_waiting_for_the_minute(lead, receiver,
                                                             worker_without_schedule):
    """Each change reaches the receiver on its own after its commit, with no run every
    minute to send it (bench/webhooks.py times it), once, signed, in order."""
    admin, _, contact = lead
    server = receiver()
    hook = create_webhook(server.url, ["lead_status_changed"], admin)
    server.secret = hook.secret
    set_lead_status(contact, LeadStatus.get(name="Contacting"), Actor(admin))
    assert server.wait_for(1) == 1
    set_lead_status(contact, LeadStatus.get(name="Qualified"), Actor(admin))
    set_lead_status(contact, LeadStatus.get(name="Nurture"), Actor(admin))
    assert server.wait_for(3) == 3
    statuses = [payload["data"]["to_lead_status_id"] for _, _, payload in server.received]
    assert statuses == [LeadStatus.get(name=n).id for n in ("Contacting", "Qualified", "Nurture")]
    assert all(good for good, _, _ in server.received)


def test_r31_runs_at_the_same_time_send_each_change_once(lead, receiver, empty_queue):
    """Several workers running the sender at once never send one change twice."""
    admin, _, contact = lead
    server = receiver()
    hook = create_webhook(server.url, ["lead_status_changed"], admin)
    server.secret = hook.secret
    names = ["Contacting", "Qualified", "Nurture", "Open"] * 3
    for name in names:
        set_lead_status(contact, LeadStatus.get(name=name), Actor(admin))
    start = threading.Barrier(4)

    def run():
        start.wait()
        for _ in range(3):
            empty_queue.run_webhooks()
    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    empty_queue.run_webhooks()  # whatever a busy subscription left for the next run
    history_ids = [payload["data"]["history_id"] for _, _, payload in server.received]
    assert len(history_ids) == len(set(history_ids)) == len(names)
    assert history_ids == sorted(history_ids)
    assert WebhookDelivery.select().count() == len(names)


def test_r31_activity_changes_are_events_naming_the_activity(lead, receiver):
    """Added, changed, done, reopened and deleted activities are each an event."""
    from models.activities import (add_activity, complete_activity, delete_activity,
                                   edit_activity)
    admin, _, contact = lead
    server = receiver()
    hook = create_webhook(server.url, ["activity_changed"], admin)
    server.secret = hook.secret
    due = now() + timedelta(days=1)
    follow_up = add_activity(admin, "follow_up", "Demo", contact=contact, due_at=due)
    edit_activity(follow_up, admin, "Demo at their office", due_at=due)
    complete_activity(follow_up, admin)
    complete_activity(follow_up, admin, done=False)
    delete_activity(follow_up, admin)
    set_lead_status(contact, LeadStatus.get(name="Contacting"), Actor(admin))  # not subscribed
    assert collect_events() == 5
    assert deliver_due() == 5
    data = [payload["data"] for _, _, payload in server.received]
    assert [d["activity_action"] for d in data] == ["created", "updated", "completed",
                                                    "reopened", "deleted"]
    assert {d["activity_id"] for d in data} == {follow_up.id}
    assert {d["contact_id"] for d in data} == {contact.id}
    assert {payload["event"] for _, _, payload in server.received} == {"activity_changed"}
