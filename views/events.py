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
from models.feed import changes_after, changes_within, latest_change_id

bp = Blueprint("events", __name__)


def last_seen_id():
    """Where the client left off: Last-Event-ID on reconnect, ?after= or now."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("after") or ""
    # ASCII digits only, at most 18 ("²" is a digit to isdigit(), not to int()).
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


# PostgreSQL hands out a history id when the row is inserted, not when its
# transaction commits, so a change can become visible after a newer one was
# already streamed. A stream remembers the ids it jumped over and asks for
# them again until they appear or GAP_SECONDS pass (a rolled-back transaction
# leaves its id unused for good). SQLite's writers take turns, so its ids
# arrive in order and there are no gaps to wait for.
GAP_SECONDS = 30
MAX_GAPS = 50


class FeedCursor:
    """Where one stream is in the change feed: the newest id read and the gaps below it."""

    def __init__(self, last_id):
        self.last_id = last_id
        self.gaps = []  # [first id, last id, noticed at (monotonic)]

    def read(self, now):
        """The changes not streamed yet: late ones from the gaps first, then new ones."""
        self.gaps = [gap for gap in self.gaps if now - gap[2] < GAP_SECONDS][-MAX_GAPS:]
        # Every gap is asked for in one query, however many there are.
        late = changes_within([(first, last) for first, last, _ in self.gaps])
        for gap in [gap for gap in self.gaps if any(gap[0] <= c[0] <= gap[1] for c in late)]:
            first, last, noticed = gap
            self.gaps.remove(gap)
            expected = first
            for change in (c for c in late if first <= c[0] <= last):
                if change[0] > expected:  # what is still missing around the late ones
                    self.gaps.append([expected, change[0] - 1, noticed])
                expected = change[0] + 1
            if expected <= last:
                self.gaps.append([expected, last, noticed])
        new = changes_after(self.last_id)
        expected = self.last_id + 1
        for change in new:
            if change[0] > expected:
                self.gaps.append([expected, change[0] - 1, now])
            expected = change[0] + 1
        if new:
            self.last_id = new[-1][0]
        self.gaps.sort()
        return late + new

    def resume_id(self):
        """The Last-Event-ID to come back with: below the oldest gap, so nothing is skipped."""
        return self.gaps[0][0] - 1 if self.gaps else self.last_id


def event_stream(last_id, poll_seconds, lifetime_seconds, closed=lambda: False):
    """The events after `last_id` until the lifetime is over or the app is `closed`."""
    started = last_beat = time.monotonic()
    cursor = FeedCursor(last_id)
    # The retry hint makes the browser reconnect quickly after we close.
    yield "retry: 1000\n\n"
    while time.monotonic() - started < lifetime_seconds and not closed():
        with database.connection_context():
            changes = cursor.read(time.monotonic())
        if changes:
            payload = {"contacts": sorted({c[3] for c in changes if c[3]}),
                       "companies": sorted({c[2] for c in changes if c[2]})}
            yield f"id: {cursor.resume_id()}\nevent: changed\ndata: {json.dumps(payload)}\n\n"
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
