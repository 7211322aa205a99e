"""The live change feed as Server-Sent Events, read by htmx's SSE extension.

Each open tab holds one stream. The stream polls the history table (the
feed lives in the database, so a change made through any server process
reaches every stream) and sends one "changed" event per batch of changes,
carrying the affected contact and company ids. Streams end after a few
minutes and the browser reconnects with Last-Event-ID, which keeps worker
threads from being held forever.
"""
import json
import time

from flask import Blueprint, Response, current_app, request
from flask_login import login_required

from models import database
from models.feed import changes_after, latest_change_id

bp = Blueprint("events", __name__)


def last_seen_id():
    """Where the client left off: Last-Event-ID on reconnect, ?after= or now."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("after") or ""
    return int(raw) if raw.isdigit() else None


def event_stream(last_id, poll_seconds, lifetime_seconds, closed=lambda: False):
    """The events after `last_id` until the lifetime is over or the app is `closed`."""
    started = last_beat = time.monotonic()
    # The retry hint makes the browser reconnect quickly after we close.
    yield "retry: 1000\n\n"
    while time.monotonic() - started < lifetime_seconds and not closed():
        with database.connection_context():
            changes = changes_after(last_id)
        if changes:
            last_id = changes[-1][0]
            payload = {"contacts": sorted({c[3] for c in changes if c[3]}),
                       "companies": sorted({c[2] for c in changes if c[2]})}
            yield f"id: {last_id}\nevent: changed\ndata: {json.dumps(payload)}\n\n"
        elif time.monotonic() - last_beat > 15:
            last_beat = time.monotonic()
            yield ": keep-alive\n\n"
        time.sleep(poll_seconds)


@bp.get("/events")
@login_required
def stream():
    """The change feed of this tab."""
    last_id = last_seen_id()
    if last_id is None:
        last_id = latest_change_id()
    config = current_app.config
    # FEED_CLOSED lets a server that is shutting down (the test server) end
    # its streams instead of leaving their threads polling.
    response = Response(event_stream(last_id, config.get("FEED_POLL_SECONDS", 0.5),
                                     config.get("FEED_STREAM_SECONDS", 300),
                                     closed=lambda: config.get("FEED_CLOSED", False)),
                        mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/events/poll")
@login_required
def poll():
    """The polling fallback: the same news as JSON, for browsers without EventSource."""
    last_id = last_seen_id() or 0
    changes = changes_after(last_id)
    return {"last_id": changes[-1][0] if changes else max(last_id, latest_change_id()),
            "contacts": sorted({c[3] for c in changes if c[3]}),
            "companies": sorted({c[2] for c in changes if c[2]})}
