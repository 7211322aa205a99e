"""Settings → Lists → Lead statuses through the views (R5, R6, R13)."""
import re

import pytest
from playhouse.test_utils import count_queries

from models import (Actor, AuditLog, Contact, History, LeadStatus, add_lead_status,
                    create_contact, set_lead_status)

from .conftest import HTMX, make_user, sign_in

URL = "/settings/lead-statuses"
EMPTY_TRANSLATIONS = {f"{kind}_{code}": "" for code in ("en", "sv", "nb")
                      for kind in ("name", "description")}


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def names():
    return [s.name for s in LeadStatus.ordered()]


def form(name, description="", **extra):
    """What the browser posts from the status form."""
    return {"name": name, "description": description, **EMPTY_TRANSLATIONS, **extra}


def snapshot():
    return [(s.id, s.name, s.description, s.sort_order, s.is_initial, s.retired, s.name_sv)
            for s in LeadStatus.select().order_by(LeadStatus.id)]


def status_pill(html):
    """(tooltip, name) of the lead status value on a contact card (R13)."""
    match = re.search(r'<span class="status-pill[^"]*"\s+title="([^"]*)">([^<]*)</span>', html)
    return match.groups() if match else None


def chooser_options(html):
    return re.findall(r"<option [^>]*>([^<]+)</option>", html)


def row_names(html):
    return re.findall(r'<a href="/settings/lead-statuses/\d+/edit"\s+title="[^"]*">([^<]+)</a>',
                      html)


def test_r5_r6_r13_admin_user_story_end_to_end(admin_client, sample):
    """Rename Nurture, describe it, add Meeting booked after Contacting, retire and restore it."""
    anna, bo = sample["anna"], sample["bo"]
    set_lead_status(anna, status("Nurture"), Actor())

    # Rename and describe: reps see the new name and tooltip (R5, R13).
    response = admin_client.post(f"{URL}/{status('Nurture').id}/edit", data=form(
        "Re-nurture", "Came back after a pause; warm it up again."))
    assert response.status_code == 302 and response.location == f"{URL}/"
    card = admin_client.get(f"/contacts/{anna.id}").data.decode()
    assert status_pill(card) == ("Came back after a pause; warm it up again.", "Re-nurture")

    # Add Meeting booked between Contacting and Qualified (R5).
    response = admin_client.post(f"{URL}/new", data=form(
        "Meeting booked", "A first meeting is in the calendar.",
        position_after=status("Contacting").id))
    assert response.status_code == 302
    assert names() == ["Open", "Contacting", "Meeting booked", "Qualified", "Disqualified",
                       "Re-nurture"]
    listed = admin_client.get(f"{URL}/").data.decode()
    assert row_names(listed) == names()
    booked = status("Meeting booked")
    set_lead_status(bo, booked, Actor())

    # Retire it: gone from the list and the chooser, still on Bo's card (R6).
    response = admin_client.post(f"{URL}/{booked.id}/retire", headers=HTMX)
    body = response.data.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="status-list"')
    assert "Meeting booked" not in row_names(body)
    chooser = admin_client.get(f"/contacts/{anna.id}/lead-status?edit=1",
                               headers=HTMX).data.decode()
    assert "<select" in chooser and "Meeting booked" not in chooser_options(chooser)
    assert "Re-nurture" in chooser_options(chooser)
    assert status_pill(admin_client.get(f"/contacts/{bo.id}").data.decode()) == (
        "A first meeting is in the calendar.", "Meeting booked")
    assert Contact.get_by_id(bo.id).lead_status_id == booked.id

    # The retired one is listed with "show retired", and comes back on restore (R6).
    shown = admin_client.get(f"{URL}/?retired=1").data.decode()
    assert "Meeting booked" in row_names(shown) and "Restore" in shown
    response = admin_client.post(f"{URL}/{booked.id}/restore?retired=1", headers=HTMX)
    assert "Meeting booked" in row_names(response.data.decode())
    chooser = admin_client.get(f"/contacts/{anna.id}/lead-status?edit=1",
                               headers=HTMX).data.decode()
    assert chooser_options(chooser) == names()
    assert [e.action for e in AuditLog.select().order_by(AuditLog.id)] == [
        "changed", "created", "retired", "restored"]


def test_list_shows_initial_badge_tooltips_and_counts(admin_client, sample):
    """R6: the initial status is marked and has no retire button; R13: tooltips; usage counts."""
    page = admin_client.get(f"{URL}/").data.decode()
    assert row_names(page) == ["Open", "Contacting", "Qualified", "Disqualified", "Nurture"]
    assert 'title="No sales contact made yet.">Open</a>' in page
    open_row = re.search(r'<tr data-id="%d".*?</tr>' % status("Open").id, page, re.S).group()
    assert 'class="badge on">Initial<' in open_row
    assert "/retire" not in open_row and "Make initial" not in open_row
    assert '<td class="num" data-label="All contacts">2</td>' in open_row  # Anna and Bo
    assert page.count(">Retire</button>") == 4 and page.count(">Make initial</button>") == 4
    assert 'data-sortable-url="/settings/lead-statuses/order"' in page
    assert 'data-sortable-target="#status-list"' in page


def test_list_page_and_fragment(admin_client, users):
    page = admin_client.get(f"{URL}/").data.decode()
    assert '<nav class="settings-nav"' in page and 'id="status-list"' in page
    fragment = admin_client.get(f"{URL}/?retired=1", headers=HTMX).data.decode()
    assert fragment.lstrip().startswith('<div id="status-list"') and "<html" not in fragment


def test_r5_reorder_persists(admin_client, users):
    ids = [s.id for s in LeadStatus.ordered()]
    response = admin_client.post(f"{URL}/order", data={"order": list(reversed(ids))},
                                 headers=HTMX)
    assert response.status_code == 200
    assert response.data.decode().lstrip().startswith('<div id="status-list"')
    assert [s.id for s in LeadStatus.ordered()] == list(reversed(ids))
    assert row_names(admin_client.get(f"{URL}/").data.decode()) == names()
    assert AuditLog.get().action == "reordered"


def test_r5_reordering_shown_statuses_keeps_retired_ones(admin_client, users):
    """Only the shown ids are posted; the hidden retired ones keep their place after them (R5)."""
    admin_client.post(f"{URL}/{status('Qualified').id}/retire")
    ids = [s.id for s in LeadStatus.ordered()]
    admin_client.post(f"{URL}/order", data={"order": [ids[-1]] + ids[:-1]}, headers=HTMX)
    assert [s.name for s in LeadStatus.ordered(include_retired=True)] == [
        "Nurture", "Open", "Contacting", "Disqualified", "Qualified"]


@pytest.mark.parametrize("order, status_code", [
    (["abc"], 422), (["1", "x"], 422), (["1", "1"], 409), (["4242"], 409), (["1", "-3"], 422),
])
def test_forged_reorder_changes_nothing(admin_client, users, order, status_code):
    before = snapshot()
    response = admin_client.post(f"{URL}/order", data={"order": order}, headers=HTMX)
    assert response.status_code == status_code
    assert b'class="error-message"' in response.data
    message = "could not be read" if status_code == 422 else "changed meanwhile"
    assert message in response.data.decode()
    assert snapshot() == before and AuditLog.select().count() == 0


def test_r6_retire_and_restore_keep_contacts_values_and_history(admin_client, sample):
    anna = sample["anna"]
    set_lead_status(anna, status("Qualified"), Actor())
    history = [(h.id, h.contact_id, h.from_status_id, h.to_status_id)
               for h in History.select().order_by(History.id)]
    values = [(c.id, c.lead_status_id) for c in Contact.select().order_by(Contact.id)]
    qualified = status("Qualified")
    admin_client.post(f"{URL}/{qualified.id}/retire")
    assert status("Qualified").retired
    assert [(c.id, c.lead_status_id) for c in Contact.select().order_by(Contact.id)] == values
    timeline = admin_client.get(f"/contacts/{anna.id}").data.decode()
    assert "from Open to Qualified" in timeline
    admin_client.post(f"{URL}/{qualified.id}/restore")
    assert not status("Qualified").retired
    assert [(c.id, c.lead_status_id) for c in Contact.select().order_by(Contact.id)] == values
    assert [(h.id, h.contact_id, h.from_status_id, h.to_status_id)
            for h in History.select().order_by(History.id)] == history


def test_full_page_retire_redirects_back_to_the_list(admin_client, users):
    response = admin_client.post(f"{URL}/{status('Nurture').id}/retire?retired=1")
    assert response.status_code == 302 and response.location == f"{URL}/?retired=1"


@pytest.mark.parametrize("htmx", [False, True])
def test_r6_forged_retire_of_the_initial_status_is_409(admin_client, users, htmx):
    before = snapshot()
    response = admin_client.post(f"{URL}/{LeadStatus.initial().id}/retire",
                                 headers=HTMX if htmx else {})
    assert response.status_code == 409
    assert "The initial lead status cannot be retired." in response.data.decode()
    assert snapshot() == before and AuditLog.select().count() == 0


def test_r6_make_initial_moves_the_flag(admin_client, sample):
    response = admin_client.post(f"{URL}/{status('Contacting').id}/initial", headers=HTMX)
    assert response.status_code == 200
    initial = LeadStatus.select().where(LeadStatus.is_initial == True)  # noqa: E712
    assert [s.name for s in initial] == ["Contacting"]
    contact = create_contact(sample["lead"], Actor(), first_name="Dag", last_name="Holm")
    assert contact.lead_status.name == "Contacting"  # R9 follows the new initial status
    assert AuditLog.get().action == "made initial"


def test_r6_a_retired_status_cannot_be_made_initial(admin_client, users):
    admin_client.post(f"{URL}/{status('Nurture').id}/retire")
    response = admin_client.post(f"{URL}/{status('Nurture').id}/initial", headers=HTMX)
    assert response.status_code == 409
    assert "A retired lead status cannot be the initial one." in response.data.decode()
    assert LeadStatus.initial().name == "Open"


def test_r5_per_language_names_on_the_contact_card(app, admin_client, sample):
    """A Swedish user sees name_sv and description_sv; without a translation, the default."""
    nurture = status("Nurture")
    response = admin_client.post(f"{URL}/{nurture.id}/edit", data=form(
        "Nurture", "Not ready now, may become relevant later.",
        name_sv="Återbearbetning", description_sv="Inte redo nu, kan bli aktuell senare."))
    assert response.status_code == 302
    assert status("Nurture").name_in("sv") == "Återbearbetning"
    set_lead_status(sample["anna"], nurture, Actor())
    make_user("sven@example.test", "rep", language="sv")
    swedish = sign_in(app.test_client(), "sven@example.test")
    card = swedish.get(f"/contacts/{sample['anna'].id}").data.decode()
    assert status_pill(card) == ("Inte redo nu, kan bli aktuell senare.", "Återbearbetning")
    # Bo is in Open, whose Swedish name the admin took away: the default shows.
    LeadStatus.update(name_sv="", description_sv="").where(LeadStatus.name == "Open").execute()
    card = swedish.get(f"/contacts/{sample['bo'].id}").data.decode()
    assert status_pill(card) == ("No sales contact made yet.", "Open")
    # The English admin still sees the default name.
    card = admin_client.get(f"/contacts/{sample['anna'].id}").data.decode()
    assert status_pill(card)[1] == "Nurture"


def test_r5_edit_form_shows_the_translations(admin_client, users):
    nurture = status("Nurture")
    nurture.name_nb = "Oppfølging senere"
    nurture.save()
    page = admin_client.get(f"{URL}/{nurture.id}/edit").data.decode()
    assert 'name="name_nb" type="text" value="Oppfølging senere"' in page
    assert "<legend>Svenska</legend>" in page and "<legend>English</legend>" in page
    assert 'name="position_after"' not in page
    new_page = admin_client.get(f"{URL}/new").data.decode()
    assert 'name="position_after"' in new_page and ">At the end</option>" in new_page


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "This field is required."),
    ({"name": "   "}, "This field is required."),
    ({"name": "nurture"}, "A lead status named nurture already exists."),
    ({"name": "OPEN"}, "A lead status named OPEN already exists."),
    ({"name": "x" * 101}, "cannot be longer than 100"),
    ({"name_sv": "x" * 101}, "cannot be longer than 100"),
    ({"position_after": "4242"}, "Not a valid choice"),
    ({"position_after": "abc"}, "Invalid Choice"),
])
def test_forged_new_status_posts_change_nothing(admin_client, users, data, message):
    before = snapshot()
    response = admin_client.post(f"{URL}/new", data={**form("Meeting booked"), **data})
    assert response.status_code == 422 and message in response.data.decode()
    assert snapshot() == before and AuditLog.select().count() == 0


def test_place_after_a_retired_status_is_not_a_choice(admin_client, users):
    admin_client.post(f"{URL}/{status('Nurture').id}/retire")
    before = snapshot()
    response = admin_client.post(f"{URL}/new", data=form(
        "Meeting booked", position_after=status("Nurture").id))
    assert response.status_code == 422 and "Not a valid choice" in response.data.decode()
    assert snapshot() == before


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "This field is required."),
    ({"name": "QUALIFIED"}, "A lead status named QUALIFIED already exists."),
    ({"name_sv": "Öppen"}, "Another lead status is already called Öppen in Svenska."),
])
def test_forged_edit_posts_change_nothing(admin_client, users, data, message):
    opened = status("Open")
    opened.name_sv = "Öppen"
    opened.save()
    before = snapshot()
    response = admin_client.post(f"{URL}/{status('Nurture').id}/edit",
                                 data={**form("Nurture"), **data})
    body = response.data.decode()
    assert response.status_code == 422 and message in body
    assert 'class="field has-error"' in body
    assert snapshot() == before and AuditLog.select().count() == 0


@pytest.mark.parametrize("method, path", [
    ("get", "/4242/edit"), ("post", "/4242/edit"), ("post", "/4242/retire"),
    ("post", "/4242/restore"), ("post", "/4242/initial"), ("get", "/abc/edit"),
])
def test_unknown_status_is_404(admin_client, users, method, path):
    before = snapshot()
    response = getattr(admin_client, method)(URL + path, data=form("Ghost"))
    assert response.status_code == 404
    assert snapshot() == before


def test_changes_are_in_the_audit_log_with_who(admin_client, users):
    admin_client.post(f"{URL}/{status('Nurture').id}/edit", data=form("Re-nurture"))
    entry = AuditLog.get()
    assert (entry.area, entry.action, entry.subject, entry.actor_id) == (
        "lead_statuses", "changed", "Re-nurture", users["admin"].id)
    page = admin_client.get("/settings/audit?area=lead_statuses").data.decode()
    assert "Re-nurture" in page and "Admin" in page


URLS = [("get", "/"), ("get", "/?retired=1"), ("get", "/new"), ("post", "/new"),
        ("get", "/1/edit"), ("post", "/1/edit"), ("post", "/order"), ("post", "/2/retire"),
        ("post", "/2/restore"), ("post", "/2/initial")]


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("method, path", URLS)
def test_rep_is_refused_every_lead_status_url(client, users, method, path, htmx):
    """Settings are for admins only, the htmx fragment URLs included (R5, R6)."""
    before = snapshot()
    response = getattr(client, method)(URL + path, data={**form("Hacked"), "order": ["5", "4"]},
                                       headers=HTMX if htmx else {})
    assert response.status_code == 403
    assert snapshot() == before and AuditLog.select().count() == 0


def test_list_query_count_is_fixed(admin_client, sample):
    def queries():
        with count_queries() as counter:
            response = admin_client.get(f"{URL}/?retired=1")
        assert response.status_code == 200
        return counter.count
    few = queries()
    for number in range(20):
        extra = add_lead_status(f"Extra {number}")
        if number % 2:
            extra.retired = True
            extra.save()
        contact = create_contact(sample["lead"], Actor(), first_name="A", last_name=str(number))
        Contact.update(lead_status=extra).where(Contact.id == contact.id).execute()
    assert LeadStatus.select().count() == 25
    assert queries() == few


def test_lead_status_settings_say_what_they_count(admin_client, sample):
    """All contacts with a status, and the active leads the boards count (item 8)."""
    Contact.update(lead_status=LeadStatus.get(name="Qualified")).execute()
    page = admin_client.get("/settings/lead-statuses/").data.decode()
    row = page.split('title="Meets the requirements')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num" data-label="[^"]+">(\d+)</td>', row) == ["3", "2"]
