"""The lead board in a real browser: drags, the confirm dialog, refusals, live updates."""
import models
from models import (Actor, Category, Company, Contact, LeadStatus, User, assign_owner,
                    create_company, create_contact)
from models.categorization import save_rules
from models.search import parse_criteria
from models.selections import save_selection
from playwright.sync_api import expect

from .conftest import htmx_settled, sortables_ready
from .test_settings import drag

PASSWORD = "correct horse"


def setup_board():
    """A rep with three leads at two Lead companies, all Open."""
    models.database.connect(reuse_if_open=True)
    rep = User(email="rita@example.test", name="Rita Rep", role="rep")
    rep.set_password(PASSWORD)
    rep.save()
    lead = Category.get(Category.name == "Lead")
    first = create_company(Actor(rep), name="Fjällbo AB", category=lead, owner=rep)
    second = create_company(Actor(rep), name="Nordvik AS", category=lead, owner=rep)
    contacts = [create_contact(first, Actor(rep), first_name="Anna", last_name="Berg", owner=rep),
                create_contact(first, Actor(rep), first_name="Bo", last_name="Ek", owner=rep),
                create_contact(second, Actor(rep), first_name="Cai", last_name="Lund",
                               owner=rep)]
    models.database.close()
    return contacts


def sign_in(page):
    page.goto("/login")
    page.get_by_label("E-mail").fill("rita@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-menu")).to_be_attached()  # signed in, on the landing page


def column(page, name):
    return page.get_by_role("region", name=name, exact=True)


def status_of(contact):
    models.database.connect(reuse_if_open=True)
    name = Contact.get_by_id(contact.id).lead_status.name
    models.database.close()
    return name


def a_second_board(browser, live_server):
    """The same rep's board open in another browser (a colleague's tab)."""
    other = browser.new_context(base_url=live_server).new_page()
    sign_in(other)
    open_board(other)
    return other


def open_board(page):
    page.get_by_role("link", name="Board", exact=True).click()
    expect(column(page, "Open").locator(".card")).to_have_count(3)
    htmx_settled(page)
    sortables_ready(page)


def test_drag_open_to_contacting_is_kept_after_reload(page, artifacts):
    anna, _, _ = setup_board()
    sign_in(page)
    open_board(page)
    card = page.locator(f"#card-{anna.id}")
    drag(page, card.locator(".card-company"), column(page, "Contacting").locator("ol"))
    expect(column(page, "Contacting").locator(f"#card-{anna.id}")).to_be_visible()
    expect(column(page, "Contacting").locator(".count")).to_have_text("1")
    expect(column(page, "Open").locator(".count")).to_have_text("2")
    expect(page.locator("#toasts")).to_contain_text("Anna Berg moved to Contacting")
    page.screenshot(path=artifacts / "board.png", full_page=True)
    assert status_of(anna) == "Contacting"
    page.reload()
    expect(column(page, "Contacting").locator(f"#card-{anna.id}")).to_be_visible()


def test_r17_drop_on_confirm_rule_status_shows_dialog_and_accept_moves(page):
    anna, _, _ = setup_board()
    models.database.connect(reuse_if_open=True)
    save_rules({("status_set", LeadStatus.get(name="Qualified").id): {
        "enabled": True, "ask_confirm": True,
        "target_category_id": Category.get(name="Opportunity").id}}, Actor())
    models.database.close()
    sign_in(page)
    open_board(page)
    drag(page, page.locator(f"#card-{anna.id} .card-company"),
         column(page, "Qualified").locator("ol"))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("suggests Opportunity instead of Lead")
    dialog.get_by_role("button", name="Move to Opportunity").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    models.database.connect(reuse_if_open=True)
    assert Contact.get_by_id(anna.id).company.category.name == "Opportunity"
    models.database.close()


def test_r8_refused_drop_puts_the_card_back_with_a_message(page):
    anna, _, _ = setup_board()
    sign_in(page)
    open_board(page)
    # The card is in the air when Fjällbo becomes a customer (lead status is not
    # active, R8) in a way the live feed has not delivered yet (no history row).
    box = page.locator(f"#card-{anna.id} .card-company").bounding_box()
    goal = column(page, "Contacting").locator("ol").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + 5, steps=5)
    expect(page.locator(".sortable-fallback")).to_have_count(1)
    models.database.connect(reuse_if_open=True)
    Company.update(category=Category.get(name="Customer")) \
        .where(Company.id == Contact.get_by_id(anna.id).company_id).execute()
    models.database.close()
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2 + 4, steps=20)
    page.mouse.up()
    expect(page.locator("#toasts")).to_contain_text("Lead status is not active")
    assert status_of(anna) == "Open"
    expect(column(page, "Contacting").locator(".card")).to_have_count(0)


def test_stale_card_is_refused_not_overwritten(page):
    anna, _, _ = setup_board()
    sign_in(page)
    open_board(page)
    # A colleague's change that the live feed has not delivered yet: the
    # version moves on without a history row, so this board is not redrawn.
    models.database.connect(reuse_if_open=True)
    Contact.update(lead_status=LeadStatus.get(name="Nurture"), version=Contact.version + 1) \
        .where(Contact.id == anna.id).execute()
    models.database.close()
    page.locator(f"#card-{anna.id} summary").click()
    page.locator(f"#card-{anna.id}").get_by_role("button", name="Qualified", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("changed by someone else")
    assert status_of(anna) == "Nurture"


def test_move_to_menu_and_undo(page):
    _, bo, _ = setup_board()
    sign_in(page)
    open_board(page)
    page.locator(f"#card-{bo.id} summary").click()
    page.locator(f"#card-{bo.id}").get_by_role("button", name="Disqualified").click()
    expect(column(page, "Disqualified").locator(f"#card-{bo.id}")).to_be_visible()
    expect(column(page, "Disqualified").locator(".count")).to_have_text("1")
    assert status_of(bo) == "Disqualified"
    htmx_settled(page)
    page.locator("#toasts").get_by_role("button", name="Undo").click()
    expect(column(page, "Open").locator(f"#card-{bo.id}")).to_be_visible()
    expect(column(page, "Disqualified").locator(".count")).to_have_text("0")
    assert status_of(bo) == "Open"


def test_second_rep_sees_the_move_live(page, browser, live_server):
    anna, _, _ = setup_board()
    sign_in(page)
    open_board(page)
    other = a_second_board(browser, live_server)
    # Only the card and the counts change: the columns are not drawn anew.
    other.evaluate("document.getElementById('board-columns').dataset.drawn = 'first'")
    page.locator(f"#card-{anna.id} summary").click()
    page.locator(f"#card-{anna.id}").get_by_role("button", name="Contacting").click()
    # Live, without a reload (the bound is generous: how fast is bench/streams.py's).
    expect(column(other, "Contacting").locator(f"#card-{anna.id}")).to_be_visible(timeout=10000)
    expect(column(other, "Contacting").locator(".count")).to_have_text("1")
    expect(column(other, "Open").locator(".count")).to_have_text("2")
    expect(column(other, "Open").locator(f"#card-{anna.id}")).to_have_count(0)
    assert other.evaluate("document.getElementById('board-columns').dataset.drawn") == "first"


def test_a_moved_card_takes_its_place_in_the_sort(page, browser, live_server):
    anna, bo, cai = setup_board()
    sign_in(page)
    open_board(page)
    other = a_second_board(browser, live_server)
    for contact in (anna, cai, bo):  # Berg, Lund, Ek: by name Berg, Ek, Lund
        page.locator(f"#card-{contact.id} summary").click()
        page.locator(f"#card-{contact.id}").get_by_role("button", name="Contacting").click()
        htmx_settled(page)
    cards = column(other, "Contacting").locator(".card")
    expect(cards).to_have_count(3, timeout=5000)
    expect(cards.locator(".card-name")).to_have_text(["Anna Berg", "Bo Ek", "Cai Lund"])


def test_past_the_stream_limit_the_board_says_so_and_still_follows(page, browser, live_server,
                                                                   app_of_live_server):
    anna, _, _ = setup_board()
    app_of_live_server.extensions["feed"].max_streams = 0
    app_of_live_server.config["FEED_BUSY_POLL_SECONDS"] = 1
    sign_in(page)
    open_board(page)
    expect(page.locator("#live-note")).to_contain_text("Live updates are busy")
    other = a_second_board(browser, live_server)
    other.locator(f"#card-{anna.id} summary").click()
    other.locator(f"#card-{anna.id}").get_by_role("button", name="Contacting").click()
    expect(column(page, "Contacting").locator(f"#card-{anna.id}")).to_be_visible(timeout=5000)


def test_company_board_drop_changes_category(page):
    anna, _, _ = setup_board()
    sign_in(page)
    page.goto("/board/companies")
    htmx_settled(page)
    card = page.locator(f"#company-card-{anna.company.id}")
    drag(page, card.locator(".card-meta").first, column(page, "Opportunity").locator("ol"))
    expect(column(page, "Opportunity").locator(f"#company-card-{anna.company.id}")).to_be_visible()
    expect(column(page, "Opportunity").locator(".count")).to_have_text("1")
    models.database.connect(reuse_if_open=True)
    assert Contact.get_by_id(anna.id).company.category.name == "Opportunity"
    models.database.close()


def test_manager_switches_to_columns_by_category(page):
    anna, _, _ = setup_board()
    sign_in(page)
    open_board(page)
    page.get_by_label("Columns").select_option(label="Category")
    expect(column(page, "Opportunity")).to_be_visible()
    htmx_settled(page)
    drag(page, page.locator(f"#card-{anna.id} .card-company"),
         column(page, "Opportunity").locator("ol"))
    # The whole company moved: both of its contacts are in the new column.
    expect(column(page, "Opportunity").locator(".card")).to_have_count(2)
    models.database.connect(reuse_if_open=True)
    assert Contact.get_by_id(anna.id).company.category.name == "Opportunity"
    models.database.close()


def owner_board(page):
    """The rep's board grouped by owner, with a second rep, Ola, as an empty column:
    (Anna's contact, Ola)."""
    anna, _, _ = setup_board()
    models.database.connect(reuse_if_open=True)
    ola = User.create(email="ola@example.test", name="Ola Olsen", role="rep",
                      password_hash="-")
    models.database.close()
    sign_in(page)
    open_board(page)
    page.get_by_label("Columns").select_option(label="Owner")
    expect(column(page, "Rita Rep").locator(".card")).to_have_count(3)
    htmx_settled(page)
    return anna, ola


def test_manager_groups_by_owner_and_a_drop_hands_the_lead_on(page, artifacts):
    anna, ola = owner_board(page)
    drag(page, page.locator(f"#card-{anna.id} .card-company"),
         column(page, "Ola Olsen").locator("ol"))
    expect(column(page, "Ola Olsen").locator(f"#card-{anna.id}")).to_be_visible()
    expect(column(page, "Ola Olsen").locator(".count")).to_have_text("1")
    expect(column(page, "Rita Rep").locator(".count")).to_have_text("2")
    expect(page.locator("#toasts")).to_contain_text("Anna Berg given to Ola Olsen")
    page.screenshot(path=artifacts / "board-by-owner.png", full_page=True)
    models.database.connect(reuse_if_open=True)
    assert Contact.get_by_id(anna.id).owner_id == ola.id
    models.database.close()
    # The choice is remembered: the board opens grouped by owner again.
    page.goto("/board")
    expect(column(page, "Ola Olsen").locator(f"#card-{anna.id}")).to_be_visible()


def test_a_saved_selection_opens_as_a_board(page):
    anna, bo, cai = setup_board()
    models.database.connect(reuse_if_open=True)
    rep = User.get(User.email == "rita@example.test")
    selection = save_selection(rep, "Fjällbo people", parse_criteria(
        {"version": 1, "criteria": [{"field": "category", "op": "in",
                                     "value": [Category.get(name="Lead").id]},
                                    {"field": "name", "op": "contains", "value": "Berg"}]}))
    models.database.close()
    sign_in(page)
    page.goto(f"/selections/{selection.id}")
    page.get_by_role("link", name="Open as board").click()
    expect(page.get_by_role("heading", name="Fjällbo people")).to_be_visible()
    expect(column(page, "Open").locator(".card")).to_have_count(1)
    htmx_settled(page)
    drag(page, page.locator(f"#card-{anna.id} .card-company"),
         column(page, "Contacting").locator("ol"))
    expect(column(page, "Contacting").locator(".count")).to_have_text("1")
    expect(column(page, "Open").locator(".count")).to_have_text("0")
    assert status_of(anna) == "Contacting"


def test_undo_closes_its_toast(page):
    """After Undo the toast says Undone: no second Undo ending in an error (item 3)."""
    anna, _, _ = setup_board()
    sign_in(page)
    open_board(page)
    drag(page, page.locator(f"#card-{anna.id} .card-company"),
         column(page, "Qualified").locator("ol"))
    toasts = page.locator("#toasts")
    expect(toasts).to_contain_text("Anna Berg moved to Qualified")
    htmx_settled(page)
    toasts.get_by_role("button", name="Undo").click()
    expect(toasts).to_contain_text("Undone.")
    expect(toasts.get_by_role("button", name="Undo")).to_have_count(0)
    expect(column(page, "Open").locator(f"#card-{anna.id}")).to_be_visible()
    expect(page.locator(".toast.error")).to_have_count(0)
    assert status_of(anna) == "Open"


def test_category_board_drop_says_what_moved_and_undo_puts_it_back(page, artifacts):
    """Like status and owner drops: a toast naming the company and how many contacts
    moved, with Undo (item 4)."""
    anna, bo, _ = setup_board()
    sign_in(page)
    open_board(page)
    page.get_by_label("Columns").select_option(label="Category")
    expect(column(page, "Opportunity")).to_be_visible()
    htmx_settled(page)
    drag(page, page.locator(f"#card-{anna.id} .card-company"),
         column(page, "Opportunity").locator("ol"))
    toasts = page.locator("#toasts")
    expect(toasts).to_contain_text("Fjällbo AB moved to Opportunity with its 2 contacts.")
    expect(column(page, "Opportunity").locator(".card")).to_have_count(2)
    page.screenshot(path=artifacts / "board-category-drop.png", full_page=True)
    htmx_settled(page)
    toasts.get_by_role("button", name="Undo").click()
    expect(toasts).to_contain_text("Undone.")
    expect(column(page, "Lead").locator(f"#card-{bo.id}")).to_be_visible()
    expect(column(page, "Opportunity").locator(".card")).to_have_count(0)
    models.database.connect(reuse_if_open=True)
    assert Contact.get_by_id(anna.id).company.category.name == "Lead"
    models.database.close()


def test_a_card_drags_by_its_name_and_a_click_on_the_name_opens_it(page):
    """The name is a link: dragging it moves the card, clicking it opens the contact
    (item 5; in the board's side panel)."""
    anna, bo, _ = setup_board()
    sign_in(page)
    open_board(page)
    board_url = page.url
    drag(page, page.locator(f"#card-{anna.id} .card-name"),
         column(page, "Contacting").locator("ol"))
    expect(column(page, "Contacting").locator(f"#card-{anna.id}")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Anna Berg moved to Contacting")
    assert page.url == board_url
    assert status_of(anna) == "Contacting"
    htmx_settled(page)
    page.locator(f"#card-{bo.id} .card-name").click()
    expect(page.locator("#card-preview").get_by_role("heading", name="Bo Ek")).to_be_visible()


def test_r28_a_merged_away_card_leaves_another_open_board_live(page, browser, live_server,
                                                               artifacts):
    anna, _, _ = setup_board()
    models.database.connect(reuse_if_open=True)
    rep = User.get(User.email == "rita@example.test")
    twin = create_contact(Company.get_by_id(anna.company_id), Actor(rep), first_name="anna",
                          last_name="berg", email="anna@fjallbo.se", owner=rep)
    models.database.close()
    other = browser.new_context(base_url=live_server).new_page()
    sign_in(other)
    other.get_by_role("link", name="Board", exact=True).click()
    expect(column(other, "Open").locator(".card")).to_have_count(4)
    htmx_settled(other)
    sign_in(page)
    page.goto(f"/merge/contacts?survivor={anna.id}&loser={twin.id}")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_text("Merged: one record now holds everything")).to_be_visible()
    # The other tab drops the duplicate's card without a reload (waited for, not timed).
    expect(other.locator(f"#card-{twin.id}")).to_have_count(0, timeout=30_000)
    expect(column(other, "Open").locator(".count")).to_have_text("3")
    expect(other.locator(f"#card-{anna.id}")).to_be_visible()
    other.screenshot(path=artifacts / "merged-card-gone.png")


def test_r26_a_lead_given_to_me_lights_the_bell_of_my_open_board(page):
    """The bell of a page holding the event stream asks again when the stream names
    the user, not only every ten minutes (views.notices.bell_trigger)."""
    anna, _, _ = setup_board()
    models.database.connect(reuse_if_open=True)
    manager = User(email="mona@example.test", name="Mona Manager", role="manager")
    manager.set_password(PASSWORD)
    manager.save()
    rita = User.get(User.email == "rita@example.test")
    company = Company.get(Company.name == "Nordvik AS")
    dan = create_contact(company, Actor(manager), first_name="Dan", last_name="Ek")
    models.database.close()
    sign_in(page)
    open_board(page)
    bell = page.locator("#notice-bell")
    expect(bell.locator(".notice-count")).to_have_count(0)
    models.database.connect(reuse_if_open=True)
    assign_owner(Contact.get_by_id(dan.id), rita, Actor(manager))
    models.database.close()
    # Live, without a reload or the ten minutes (the bound as for the cards above).
    expect(bell.locator(".notice-count")).to_have_text("1", timeout=10_000)
    expect(column(page, "Open").locator(f"#card-{dan.id}")).to_be_visible()
