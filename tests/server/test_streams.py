"""The production command's event streams: many at once, across processes, through
restarts and killed workers (README, "Production")."""
import json
import os
import signal
import time

import pytest

import models
from models import Actor, Contact, LeadStatus, User
from models.db import is_sqlite
from models.demo import DEMO_PASSWORD
from models.rules import set_lead_status

from .test_workers import HEARD_WITHIN, MANAGER, REP, a_move, moved
from .webclient import Browserless, ReconnectingStream, heard_by, open_streams

ADMIN = "admin@tavla.test"


def test_one_process_holds_300_streams_and_still_serves_pages(start_server):
    """More streams than the 4 x 32 threads of the old command, in one process."""
    server = start_server(workers=1).wait_until_serving()
    manager = Browserless(server.url).login(MANAGER, DEMO_PASSWORD)
    rep = Browserless(server.url).login(REP, DEMO_PASSWORD)
    streams = open_streams(server.url, manager._cookie_header(), 300)
    try:
        for path in ("/board", "/companies", "/dashboards"):
            status, _, _ = Browserless(server.url).login(MANAGER, DEMO_PASSWORD).get(path)
            assert status in (200, 302), (path, status)
        contact, version, _, target = a_move(rep)
        moved(rep, contact, target, version)
        assert heard_by(streams, contact, 10) == 300
    finally:
        for stream in streams:
            stream.close()


def feed_status(server, admin=None):
    admin = admin or Browserless(server.url).login(ADMIN, DEMO_PASSWORD)
    status, _, body = admin.get("/events/status")
    assert status == 200
    return json.loads(body)


def quiet_seconds_pass(server, seconds):
    """The feed status after `seconds` more of the PostgreSQL listener's one-second
    waits have ended with nothing announced (waited for, not timed)."""
    admin = Browserless(server.url).login(ADMIN, DEMO_PASSWORD)
    start = feed_status(server, admin).get("quiet_seconds", 0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = feed_status(server, admin)
        if status.get("quiet_seconds", 0) >= start + seconds:
            return status
        time.sleep(0.1)
    raise AssertionError("the listener never waited quietly")


def test_postgresql_a_move_through_one_server_reaches_another_by_notify(start_server):
    """Two servers (two machines) on one PostgreSQL: no polling, the NOTIFY of the commit."""
    if is_sqlite():
        pytest.skip("NOTIFY is PostgreSQL's; SQLite's processes share one machine's file")
    process_a, process_b = start_server(), start_server()
    process_a.wait_until_serving()
    process_b.wait_until_serving()
    rep = Browserless(process_a.url).login(REP, DEMO_PASSWORD)
    stream = Browserless(process_b.url).login(MANAGER, DEMO_PASSWORD).events()
    try:
        assert stream.opened.wait(5)
        quiet = quiet_seconds_pass(process_b, 1)
        assert quiet["caught_up"]
        assert quiet_seconds_pass(process_b, 2)["queries"] == quiet["queries"], \
            "process B asked the history table while nothing changed"
        contact, version, _, target = a_move(rep)
        moved(rep, contact, target, version)
        assert stream.wait_for_contact(contact, HEARD_WITHIN) is not None
        assert feed_status(process_b)["notifications"] > quiet.get("notifications", 0)
    finally:
        stream.close()


def test_clients_of_a_killed_worker_reconnect_and_miss_nothing(start_server):
    server = start_server(workers=2).wait_until_serving()
    manager = Browserless(server.url).login(MANAGER, DEMO_PASSWORD)
    streams = [ReconnectingStream(manager) for _ in range(4)]
    try:
        for stream in streams:
            assert stream.opened.wait(10) and stream.identified.wait(10)
        with models.database.connection_context():
            contact = (Contact.select().where(Contact.lead_status.is_null(False))
                       .order_by(Contact.id).first())
            target = LeadStatus.select().where(LeadStatus.id != contact.lead_status_id,
                                               LeadStatus.retired == False).first()  # noqa
            for pid in server.worker_pids():
                os.kill(pid, signal.SIGKILL)
            # Changed while no worker is there to tell anyone.
            set_lead_status(contact, target, Actor(User.get(User.email == REP)))
        for number, stream in enumerate(streams):
            assert stream.wait_for_contact(contact.id, 30), \
                f"stream {number} never heard of the change made while its worker was down"
            assert stream.connects >= 2
    finally:
        for stream in streams:
            stream.close()


def test_a_graceful_restart_ends_the_streams_at_once_and_they_resume(start_server):
    server = start_server(workers=1).wait_until_serving()
    manager = Browserless(server.url).login(MANAGER, DEMO_PASSWORD)
    rep = Browserless(server.url).login(REP, DEMO_PASSWORD)
    stream = ReconnectingStream(manager)
    try:
        assert stream.opened.wait(10)
        old = server.worker_pids()
        server.process.send_signal(signal.SIGHUP)
        # The old worker ends its stream itself: the browser is back on the new worker
        # (a second connection) and the old worker is gone. How long that takes is
        # bench/streams.py's to measure ("graceful restart", README Performance).
        assert server.wait_for_output(lambda _: stream.connects >= 2
                                      and not set(old) & set(server.worker_pids())), \
            "the old worker kept its stream"
        contact, version, _, target = a_move(rep)
        moved(rep, contact, target, version)
        assert stream.wait_for_contact(contact, 20)
        assert stream.connects >= 2
    finally:
        stream.close()
