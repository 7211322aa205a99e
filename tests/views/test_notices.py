"""R26 on the screens: the header's notices, marking them read, the outbox, the digest time."""
import time

from playhouse.test_utils import count_queries

from models import Actor, User, assign_owner
from models.reminders import Mail, Notice, send_pending

from .conftest import HTMX, sign_in


def hand_over(sample, users, contact="bo"):
    """The manager gives a lead to the rep: the rep has one notice, one mail waits."""
    assign_owner(sample[contact], users["rep"], Actor(users["manager"]))


def test_r26_the_bell_counts_my_unread_notices_only(client, sample, users):
    assert "notice-count" not in client.get("/notices/bell", headers=HTMX).data.decode()
    hand_over(sample, users)
    bell = client.get("/notices/bell", headers=HTMX).data.decode()
    assert '<span class="notice-count"' in bell and ">1</span>" in bell
    manager = sign_in(client.application.test_client(), "manager@example.test")
    assert "notice-count" not in manager.get("/notices/bell").data.decode()


def test_r26_the_bell_of_a_live_page_waits_for_the_stream_not_the_minute(client, sample, users):
    """A page holding the event stream (the board) asks for the count when the stream
    names the user and every ten minutes; any other page each minute. A thousand open
    boards would otherwise ask 17 times a second."""
    board = client.get("/board").data.decode()
    assert 'hx-trigger="load, tavla:notices from:document, every 600s"' in board
    assert "/notices/bell?live=1" in board and 'sse-connect="/events"' in board
    assert f'data-user-id="{users["rep"].id}"' in board
    card = client.get(f"/contacts/{sample['bo'].id}").data.decode()
    assert 'hx-trigger="load, every 60s"' in card and "sse-connect" not in card
    # The bell it swaps in keeps the page's kind.
    live = client.get("/notices/bell?live=1", headers=HTMX).data.decode()
    assert 'hx-trigger="tavla:notices from:document, every 600s"' in live
    assert 'hx-trigger="every 60s"' in client.get("/notices/bell", headers=HTMX).data.decode()


def test_r26_the_notices_page_lists_the_assignment_in_my_language(client, sample, users):
    User.update(language="sv").where(User.id == users["rep"].id).execute()
    hand_over(sample, users)
    page = client.get("/notices/").data.decode()
    assert "1 lead har tilldelats dig" in page and "Bo Ek, Fjällbo AB" in page
    assert "Av Manager:" in page


def test_r26_marking_read_updates_the_list_and_the_bell_in_place(client, sample, users):
    hand_over(sample, users)
    notice = Notice.get()
    response = client.post(f"/notices/{notice.id}/read", headers=HTMX)
    body = response.data.decode()
    assert response.status_code == 200 and 'id="notices"' in body
    assert 'id="notice-bell"' in body and 'hx-swap-oob="true"' in body
    assert Notice.get_by_id(notice.id).read_at is not None
    # Without htmx: back to the page.
    assert client.post("/notices/read").status_code == 303


def test_r26_nobody_marks_someone_elses_notice_read(app, sample, users):
    hand_over(sample, users)
    notice = Notice.get()
    manager = sign_in(app.test_client(), "manager@example.test")
    manager.post(f"/notices/{notice.id}/read")
    manager.post("/notices/read")
    assert Notice.get_by_id(notice.id).read_at is None


def test_notices_need_sign_in(app, users):
    assert app.test_client().get("/notices/").status_code == 302
    assert app.test_client().post("/notices/read").status_code in (302, 400)


def test_r26_the_notices_page_is_paged_with_a_fixed_number_of_queries(client, sample, users):
    hand_over(sample, users)
    with count_queries() as one:
        assert client.get("/notices/").status_code == 200
    for _ in range(30):
        Notice.create(user=users["rep"], kind="assigned",
                      payload='{"count": 1, "contacts": [[1, "Anna Berg", "Fjällbo AB"]], '
                              '"by": "Manager"}')
    with count_queries() as many:
        page = client.get("/notices/").data.decode()
    assert many.count == one.count
    assert "Page 1 of 2" in page


def test_r26_admins_read_the_outbox_and_one_mail(admin_client, client, sample, users):
    hand_over(sample, users)
    send_pending()
    mail = Mail.get()
    listing = admin_client.get("/settings/outbox/").data.decode()
    assert "1 lead was assigned to you" in listing and "rep@example.test" in listing
    assert "In the outbox only" in listing
    shown = admin_client.get(f"/settings/outbox/{mail.id}").data.decode()
    assert "Hello Rep," in shown and "/my-day" in shown
    assert client.get("/settings/outbox/").status_code == 403
    assert admin_client.get("/settings/outbox/999999999").status_code == 404


def test_r26_the_outbox_is_paged_with_a_fixed_number_of_queries(admin_client, users):
    def add(count):
        for _ in range(count):
            Mail.create(user=users["rep"], to_address="rep@example.test", subject="Hi",
                        body="Hello")
    add(1)
    with count_queries() as one:
        admin_client.get("/settings/outbox/")
    add(60)
    with count_queries() as many:
        page = admin_client.get("/settings/outbox/").data.decode()
    assert many.count == one.count and "Page 1 of 2" in page


def test_r26_i_choose_the_time_of_my_daily_digest(client, users):
    form = {"language": "en", "digest_time": "07:30", "password": "", "confirm": ""}
    assert client.post("/account", data=form).status_code == 302
    assert User.get_by_id(users["rep"].id).digest_time == "07:30"
    assert client.post("/account", data={**form, "digest_time": ""}).status_code == 302
    assert User.get_by_id(users["rep"].id).digest_time == ""
    refused = client.post("/account", data={**form, "digest_time": "25:61"})
    assert refused.status_code == 422
    assert User.get_by_id(users["rep"].id).digest_time == ""


def test_r26_a_job_worker_sends_the_assignment_mail_at_once(client, sample, users, job_worker):
    """The owner change queues the sending: a running worker puts it in the outbox
    without waiting for the minute's run."""
    hand_over(sample, users)
    deadline = time.monotonic() + 30
    while Mail.get().state in ("pending", "sending") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Mail.get().state == "outbox"
