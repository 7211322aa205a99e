"""The live change feed as Server-Sent Events, read by htmx's SSE extension.

Each open board or dashboard tab holds one stream. A stream holds no thread
of its own under the production server (gevent: one greenlet each) and asks
the database nothing while it waits: the process's `FeedHub` reads the feed
once and wakes its streams (models/feed.py). A stream sends one `changed`
event per batch of changes, naming the contacts, companies and owners they
concern, so a page asks the server again only when a change concerns it.

Streams end after a few minutes (spread out, so a thousand tabs do not
come back at once) and the browser reconnects with Last-Event-ID, which
resumes where it left off, also on another process or after a restart.
Past the process's limit a stream gets one `busy` event and the page falls
back to asking /events/poll now and then.
"""
import json
import random
import time

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user

from models.feed import Behind, Busy, summarize

bp = Blueprint("events", __name__)

KEEP_ALIVE_SECONDS = 15
# A stream sends at most one event per this many seconds; what comes in
# meanwhile goes into the next one (a burst of moves is one refresh).
EVENT_INTERVAL_SECONDS = 0.25
BUSY_RETRY_MILLISECONDS = 60_000


def feed_hub():
    """This process's reader of the change feed."""
    return current_app.extensions["feed"]


def last_seen_id():
    """Where the client left off: Last-Event-ID on reconnect, else ?after=; None: now.

    Only a plain ASCII number that fits the id column counts; anything else
    (a superscript digit, thousands of digits, a sign) is taken as "now".
    """
    raw = (request.headers.get("Last-Event-ID") or request.args.get("after") or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


def signed_in_or_401():
    """A feed is only for signed-in users; strangers get 401, not a login page to stream."""
    if not current_user.is_authenticated:
        abort(401)


def event(name, data, event_id=None):
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def news(hub, changes):
    """A `changed` event's data: what changed and the newest id it includes."""
    data = summarize(changes)
    data["last"] = max(c.id for c in changes)
    return event("changed", data, hub.resume_id())


def event_stream(hub, last_id, lifetime_seconds):
    """The events of one stream: what it missed since `last_id`, then what comes."""
    try:
        # The retry hint makes the browser come back quickly after we close.
        yield "retry: 2000\n\n"
        if last_id is None:
            seq = hub.position()
            yield f"id: {hub.resume_id()}\n\n"
        else:
            seq, missed = hub.changes_after_id(last_id)
            yield news(hub, missed) if missed else f"id: {hub.resume_id()}\n\n"
        ends = time.monotonic() + lifetime_seconds
        while not hub.closing and (left := ends - time.monotonic()) > 0:
            try:
                seq, changes = hub.wait(seq, min(left, KEEP_ALIVE_SECONDS))
            except Behind:
                yield event("reload", {})
                return
            if changes:
                yield news(hub, changes)
                time.sleep(EVENT_INTERVAL_SECONDS)
            elif not hub.closing:
                yield ": keep-alive\n\n"
    finally:
        hub.close_stream()


def event_response(body):
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/events")
def stream():
    """The change feed of this tab."""
    signed_in_or_401()
    hub = feed_hub()
    last_id = last_seen_id()
    try:
        hub.open_stream()
    except Busy:
        # The page keeps working and asks /events/poll instead (static/app.js).
        return event_response(f"retry: {BUSY_RETRY_MILLISECONDS}\n\n" + event("busy", {}))
    try:
        lifetime = float(current_app.config.get("FEED_STREAM_SECONDS", 300))
        # Spread over +-20 %: tabs opened together do not all reconnect together.
        lifetime *= random.uniform(0.8, 1.2)
        return event_response(event_stream(hub, last_id, lifetime))
    except BaseException:
        hub.close_stream()
        raise


@bp.get("/events/poll")
def poll():
    """The same news as JSON, for browsers without EventSource and pages past the limit."""
    signed_in_or_401()
    hub = feed_hub()
    hub.sync()  # a poll comes every few seconds: it may cost one read
    last_id = last_seen_id()
    if last_id is None:
        return {"last_id": hub.resume_id(), "contacts": [], "companies": [], "owners": []}
    _, changes = hub.changes_after_id(last_id)
    data = summarize(changes) if changes else {"contacts": [], "companies": [], "owners": []}
    data["last_id"] = max(hub.resume_id(), last_id) if not changes else hub.resume_id()
    if changes:
        data["last"] = max(c.id for c in changes)
    return data


@bp.get("/events/status")
def status():
    """How many streams this process holds and what its feed reader did (admins)."""
    signed_in_or_401()
    if not current_user.is_admin:
        abort(403)
    return feed_hub().status()
