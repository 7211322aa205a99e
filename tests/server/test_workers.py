"""Live updates across server processes: the change feed is the database, so a
move made through one gunicorn process reaches the event streams, boards and
dashboards served by another (README: production runs several workers)."""
import re
import time

import pytest
from playwright.sync_api import expect

import models
from models import LeadStatus
from models.demo import DEMO_PASSWORD

from .webclient import Browserless

REP, MANAGER = "rep@tavla.test", "manager@tavla.test"
# How long a test waits for a change to be heard before it calls it lost. How fast
# it is heard is bench/streams.py's to measure (README, Performance), not a test's.
HEARD_WITHIN = 30


def a_move(rep):
    """A card on the rep's board and another column to move it to."""
    cards, columns = rep.board()
    contact, version, status = next(card for card in cards if card[2] == columns[0])
    return contact, version, status, columns[1]


def moved(rep, contact, target, version):
    status, _, body = rep.move(contact, target, version)
    assert status == 200, body
    return time.monotonic()


def test_a_move_through_one_process_reaches_the_event_stream_of_another(start_server):
    process_a, process_b = start_server(), start_server()
    process_a.wait_until_serving()
    process_b.wait_until_serving()
    rep = Browserless(process_a.url).login(REP, DEMO_PASSWORD)
    manager = Browserless(process_b.url).login(MANAGER, DEMO_PASSWORD)
    stream = manager.events()
    try:
        assert stream.opened.wait(5), "the event stream of process B did not open"
        contact, version, _, target = a_move(rep)
        moved(rep, contact, target, version)
        news = stream.wait_for_contact(contact, HEARD_WITHIN)
        assert news is not None, f"no changed event for contact {contact} on B"
    finally:
        stream.close()


def test_the_documented_multi_worker_command_serves_and_streams(start_server):
    """`gunicorn -c gunicorn.conf.py -w N`: every worker serves, every stream hears."""
    server = start_server(workers=2, poll_seconds=None).wait_until_serving()
    assert server.wait_for_output(lambda out: len(re.findall(r"Booting worker with pid",
                                                             out)) >= 2), server.output()
    rep = Browserless(server.url).login(REP, DEMO_PASSWORD)
    # Fresh connections are spread over the workers by the kernel.
    for _ in range(6):
        visitor = Browserless(server.url)
        assert visitor.get("/login")[0] == 200
        visitor.close()
    manager = Browserless(server.url).login(MANAGER, DEMO_PASSWORD)
    streams = [manager.events() for _ in range(4)]
    try:
        for stream in streams:
            assert stream.opened.wait(5)
        contact, version, _, target = a_move(rep)
        moved(rep, contact, target, version)
        for number, stream in enumerate(streams):
            assert stream.wait_for_contact(contact, HEARD_WITHIN) is not None, \
                f"stream {number} heard nothing of contact {contact}"
        assert rep.get("/board")[0] == 200
    finally:
        for stream in streams:
            stream.close()


def sign_in(page, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-menu")).to_be_attached()  # signed in, on the landing page


def open_with_stream(page, path):
    """Open `path` and wait until its event stream is connected."""
    with page.expect_response(lambda response: "/events" in response.url):
        page.goto(path)


@pytest.mark.browser
def test_board_and_dashboard_on_one_process_follow_a_move_through_another(
        start_server, in_browser):
    process_a, process_b = start_server(), start_server()
    process_a.wait_until_serving()
    process_b.wait_until_serving()
    rep = Browserless(process_a.url).login(REP, DEMO_PASSWORD)
    contact, version, source, target = a_move(rep)
    with models.database.connection_context():
        target_name = LeadStatus.get_by_id(target).name

    def steps(browser):
        contexts = [browser.new_context(base_url=process_b.url, locale="en-GB")
                    for _ in range(2)]
        try:
            board, dashboard = (context.new_page() for context in contexts)
            sign_in(board, REP)
            open_with_stream(board, "/board")
            expect(board.locator(f"#card-{contact}")).to_have_attribute("data-status",
                                                                         str(source))
            sign_in(dashboard, MANAGER)
            open_with_stream(dashboard, "/dashboards")
            expect(dashboard.locator(".tile.loading")).to_have_count(0, timeout=15_000)
            # The row of the target status in the tile's screen-reader table.
            row_head = dashboard.locator(
                "th", has_text=re.compile(rf"^\s*{re.escape(target_name)}\s*$"))
            figure = dashboard.locator(".tile-status_counts .chart-table tr",
                                       has=row_head).locator("td")
            before = int(figure.inner_text())

            moved(rep, contact, target, version)
            new_column = board.locator(f"section.column:has(ol[data-target-id='{target}'])")
            expect(new_column.locator(f"#card-{contact}")).to_be_visible(
                timeout=HEARD_WITHIN * 1000)
            expect(figure).to_have_text(str(before + 1), timeout=HEARD_WITHIN * 1000)
        finally:
            for context in contexts:
                context.close()

    in_browser(steps)
