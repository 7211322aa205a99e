"""R31: webhooks tell a subscriber URL about lead status, category, owner and activity
changes.

Events come from the history rows (R20), the change feed's own source, so
every writer (a drag, a bulk update, an import, a web form, the API) makes
them without a hook of its own. `collect_events` turns the history rows a
subscription has not seen into delivery rows, in history order, and moves
its cursor, in one transaction; `deliver_due` posts them. Each delivery is
signed: `Tavla-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>")`
with the timestamp in `Tavla-Timestamp` and the delivery id in
`Tavla-Delivery` (a receiver drops ids it has seen: delivery is at least
once). A subscription's deliveries go out one at a time in id order: a
refused one is retried with a growing delay before any later one is sent,
so a receiver gets every record's changes in order. Redirects are not
followed (they count as a refusal).
"""
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from datetime import timedelta

from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    TextField, fn)

from .audit import describe_changes, record_audit
from .db import BaseModel, database
from .engine import Actor
from .errors import RuleViolation
from .schema import N_, History, User, now
from .values import clean_url

AREA = "webhooks"
EVENTS = {"lead_status_changed": N_("Lead status changed"),
          "category_changed": N_("Category changed"),
          "owner_changed": N_("Owner changed"),
          "activity_changed": N_("Activity added, changed, done or deleted")}
TEST_EVENT = "test"
KIND_EVENTS = {History.LEAD_STATUS: "lead_status_changed", History.CATEGORY: "category_changed",
               History.OWNER: "owner_changed", History.ACTIVITY: "activity_changed"}
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)  # then 1, 2, 4 ... minutes: about 2 hours in all
TIMEOUT_SECONDS = 10
LEASE = timedelta(minutes=10)
SEND_PER_RUN = 50  # at most 50 x TIMEOUT_SECONDS: well inside the lease
COLLECT_ROWS = 1000  # history rows one subscription takes in per run
LATE_COMMITS = timedelta(minutes=2)
STATES = {"pending": N_("Waiting"), "delivered": N_("Delivered"), "failed": N_("Failed")}


class Webhook(BaseModel):
    url = CharField(max_length=2000)
    secret = CharField()
    events = CharField()  # event kinds, comma-separated
    active = BooleanField(default=True)
    cursor = IntegerField(default=0)  # the last history row looked at
    since_id = IntegerField(default=0)  # the last history row before it subscribed
    # Whoever sends this subscription's deliveries holds it until then (one sender
    # at a time across every worker process; a sender that died lets go by itself).
    lease_until = DateTimeField(null=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=now)

    @property
    def event_list(self):
        return [event for event in self.events.split(",") if event]


class WebhookDelivery(BaseModel):
    webhook = ForeignKeyField(Webhook, backref="deliveries", on_delete="CASCADE")
    event = CharField()
    history_id = IntegerField(null=True)
    payload = TextField()
    state = CharField(default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=now)
    response_status = IntegerField(null=True)
    error = CharField(default="")
    created_at = DateTimeField(default=now)
    delivered_at = DateTimeField(null=True)


def _latest_history_id():
    return History.select(History.id).order_by(History.id.desc()).scalar() or 0


def create_webhook(url, events, actor):
    """A subscription to `events` from now on; its secret signs every delivery."""
    url = clean_url(url, field="url")
    if not url:
        raise RuleViolation(N_("Enter a full address, like https://example.com"), field="url")
    events = [event for event in EVENTS if event in set(events or ())]
    if not events:
        raise RuleViolation(N_("Choose at least one event."), field="events")
    _asked.update(at=0.0)  # this process wakes the sender from the next change on
    with database.atomic():
        latest = _latest_history_id()
        record_audit(Actor(actor), AREA, "created", url,
                     describe_changes({"events": None}, {"events": ", ".join(events)}))
        return Webhook.create(url=url, events=",".join(events), secret=secrets.token_hex(32),
                              cursor=latest, since_id=latest, created_by=actor.id)


def delete_webhook(webhook, actor):
    """Stop a subscription; its delivery log goes with it."""
    with database.atomic():
        record_audit(Actor(actor), AREA, "deleted", webhook.url)
        Webhook.delete().where(Webhook.id == webhook.id).execute()


def send_test(webhook):
    """Queue a test event for `webhook`, behind what is waiting for it."""
    return _queue(webhook, TEST_EVENT, None, {"message": "Test from Tavla"})


def _queue(webhook, event, history_id, data):
    delivery = WebhookDelivery.create(webhook=webhook.id, event=event, history_id=history_id,
                                      payload="{}")
    payload = {"id": delivery.id, "event": event, "created_at": delivery.created_at.isoformat(),
               "data": data}
    delivery.payload = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    delivery.save()
    return delivery


def _event_data(row):
    return {"history_id": row.id, "changed_at": row.created_at.isoformat(),
            "company_id": row.company_id, "contact_id": row.contact_id,
            "from_lead_status_id": row.from_status_id, "to_lead_status_id": row.to_status_id,
            "from_category_id": row.from_category_id, "to_category_id": row.to_category_id,
            "from_owner_id": row.from_owner_id, "to_owner_id": row.to_owner_id,
            "activity_id": row.activity_id, "activity_action": row.activity_action or None,
            "actor_id": row.actor_id, "source": row.source}


def collect_events(at=None):
    """Make deliveries of the history rows each active subscription has not seen yet.

    Returns how many were made. On PostgreSQL a history row may commit after
    one with a higher id (the feed copes with that for the browser too), so
    each run also looks again at the last two minutes of rows and queues
    those it has not queued yet.
    """
    at = at or now()
    made = 0
    for webhook in _leased(at):
        kinds = [kind for kind, event in KIND_EVENTS.items() if event in webhook.event_list]
        queued = (WebhookDelivery.select(WebhookDelivery.id)
                  .where(WebhookDelivery.webhook == webhook.id,
                         WebhookDelivery.history_id == History.id))
        with database.atomic():
            latest = _latest_history_id()
            rows = list(History.select()
                        .where(History.kind.in_(kinds), History.id > webhook.since_id,
                               (History.id > webhook.cursor)
                               | (History.created_at >= at - LATE_COMMITS),
                               History.id <= latest, ~fn.EXISTS(queued))
                        .order_by(History.id).limit(COLLECT_ROWS))
            for row in rows:
                _queue(webhook, KIND_EVENTS[row.kind], row.id, _event_data(row))
            made += len(rows)
            cursor = rows[-1].id if len(rows) == COLLECT_ROWS else latest
            Webhook.update(cursor=cursor).where(Webhook.id == webhook.id).execute()
    return made


def _leased(at):
    """The active subscriptions, each held while the caller works on it and let go
    after; one held by another process is skipped (it is being served)."""
    for webhook in Webhook.select().where(Webhook.active == True):  # noqa: E712
        taken = (Webhook.update(lease_until=at + LEASE)
                 .where(Webhook.id == webhook.id,
                        Webhook.lease_until.is_null() | (Webhook.lease_until < now()))
                 .execute())
        if not taken:
            continue
        try:
            yield webhook
        finally:
            Webhook.update(lease_until=None).where(Webhook.id == webhook.id).execute()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx stays a refusal


OPENER = urllib.request.build_opener(_NoRedirects)


def signature(secret, timestamp, body):
    """The hex HMAC-SHA256 of "<timestamp>.<body>" a receiver compares with its own."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _post(webhook, delivery):
    """Post one delivery: (HTTP status or None, error text)."""
    body = delivery.payload.encode("utf-8")
    timestamp = str(int(time.time()))
    request = urllib.request.Request(webhook.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Tavla-Webhooks/1",
        "Tavla-Event": delivery.event, "Tavla-Delivery": str(delivery.id),
        "Tavla-Timestamp": timestamp,
        "Tavla-Signature": "sha256=" + signature(webhook.secret, timestamp, body)})
    try:
        with OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(getattr(error, "reason", error))[:250]


def deliver_due(at=None, post=None):
    """Send every subscription's due deliveries in order; stop at its first refusal.

    A refusal is tried again after 30 s, 1, 2, 4 ... minutes; after
    MAX_ATTEMPTS it is marked failed and the next delivery goes. Returns the
    number delivered.
    """
    post = post or _post
    delivered = 0
    for webhook in _leased(at or now()):
        for _ in range(SEND_PER_RUN):
            at_now = at or now()
            delivery = (WebhookDelivery.select()
                        .where(WebhookDelivery.webhook == webhook.id,
                               WebhookDelivery.state == "pending")
                        .order_by(WebhookDelivery.id).first())
            if delivery is None or delivery.next_attempt_at > at_now:
                break
            status, error = post(webhook, delivery)
            delivery.attempts += 1
            delivery.response_status = status
            if status is not None and 200 <= status < 300:
                delivery.state, delivery.delivered_at, delivery.error = "delivered", at_now, ""
                delivered += 1
            else:
                delivery.error = error or f"HTTP {status}"
                if delivery.attempts >= MAX_ATTEMPTS:
                    delivery.state = "failed"
                else:
                    delivery.next_attempt_at = at_now + FIRST_RETRY * 2 ** (delivery.attempts - 1)
            delivery.save()
            if delivery.state == "pending":
                break  # later deliveries wait for this one: in order per record
    return delivered


ASK_EVERY_SECONDS = 5.0
_asked = {"database": None, "at": 0.0, "answer": False}


def webhooks_active():
    """True when some subscription is active (a change then wakes the sender).

    Asked of the database at most every ASK_EVERY_SECONDS per process and
    database, so the commit of a drop rarely pays a query for it; a
    subscription made in this process counts at once, one made in another
    within those seconds (the minute's run sends what a wake-up missed).
    """
    seen = time.monotonic()
    if _asked["database"] is not database.obj or seen - _asked["at"] > ASK_EVERY_SECONDS:
        answer = Webhook.select().where(Webhook.active == True).exists()  # noqa: E712
        _asked.update(database=database.obj, at=seen, answer=answer)
    return _asked["answer"]


def webhooks_busy():
    """True when another worker holds an active subscription right now."""
    return (Webhook.select()
            .where(Webhook.active == True, Webhook.lease_until > now())  # noqa: E712
            .exists())


def deliveries_of(webhook, limit=50):
    """The newest deliveries of a subscription, for its log."""
    return (WebhookDelivery.select().where(WebhookDelivery.webhook == webhook.id)
            .order_by(WebhookDelivery.id.desc()).limit(limit))
