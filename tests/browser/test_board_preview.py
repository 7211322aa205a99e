"""The board's side panel in Chromium: a card opens its contact beside the board
(full-screen on a phone), the status changes in place, Escape, Close and Back close it
and focus goes back to the card."""
import models
import pytest
from models import Actor, Category, Contact, User, create_company, create_contact
from playwright.sync_api import expect

from .conftest import htmx_settled

PASSWORD = "correct horse"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
TEXTS = {"en": {"board": "Board", "close": "Close", "change": "Change", "status": "Lead status",
                "contacting": "Contacting", "missing": "This contact does not exist"},
         "sv": {"board": "Tavla", "close": "Stäng", "change": "Ändra", "status": "Leadstatus",
                "contacting": "Kontakt tas", "missing": "Kontakten finns inte"}}


def setup_rep(language):
    """A rep (in `language`) with two Open leads."""
    models.database.connect(reuse_if_open=True)
    rep = User(email="rita@example.test", name="Rita Rep", role="rep", language=language)
    rep.set_password(PASSWORD)
    rep.save()
    company = create_company(Actor(rep), name="Fjällbo AB", category=Category.get(name="Lead"),
                             owner=rep)
    contacts = [create_contact(company, Actor(rep), first_name="Anna", last_name="Berg",
                               owner=rep),
                create_contact(company, Actor(rep), first_name="Bo", last_name="Ek", owner=rep)]
    models.database.close()
    return contacts


def open_page(browser, live_server, viewport):
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport=viewport,
                                  has_touch=viewport is PHONE, is_mobile=viewport is PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login")
    page.locator("input[name=email]").fill("rita@example.test")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button.primary").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["1440", "390"])
@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_card_opens_in_the_side_panel_edits_in_place_and_closes(
        browser, live_server, artifacts, viewport, language):
    """Click a card's name: the contact opens beside the board (the whole screen on a
    phone), with ?contact=<id> in the address; its status changes in place (R8) and the
    card follows; Escape closes it and focus returns to the card; Back closes it too."""
    anna, bo = setup_rep(language)
    text = TEXTS[language]
    context, page = open_page(browser, live_server, viewport)
    try:
        page.goto("/board")
        htmx_settled(page)
        panel = page.locator("#card-preview")
        expect(panel).to_be_hidden()
        page.locator(f"#card-{anna.id} .card-name").click()
        expect(panel.get_by_role("heading", name="Anna Berg")).to_be_visible()
        expect(page).to_have_url(f"{live_server}/board?owner=me&sort=name&group=status"
                                 f"&contact={anna.id}")
        expect(panel).to_be_focused()
        box = panel.bounding_box()
        if viewport is PHONE:
            assert box["x"] == 0 and box["width"] == PHONE["width"]  # full-screen
        else:
            assert box["x"] > DESK["width"] / 2  # beside the board
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]
        page.screenshot(path=artifacts / f"board-preview-{language}-{box['width']:.0f}.png")
        # R8: the status is changed in place; the board's card moves with it.
        htmx_settled(page)
        panel.get_by_role("link", name=text["change"]).click()
        # Choose once htmx has taken in the swapped-in form (as a person would).
        expect(panel.get_by_label(text["status"])).to_be_visible()
        htmx_settled(page)
        panel.get_by_label(text["status"]).select_option(label=text["contacting"])
        expect(panel.locator("#lead-status .status-pill")).to_have_text(text["contacting"])
        expect(page.locator(f"[data-column-section] ol [data-id='{anna.id}']")
               .locator("xpath=ancestor::section")).to_have_attribute(
            "aria-label", text["contacting"])
        models.database.connect(reuse_if_open=True)
        assert Contact.get_by_id(anna.id).lead_status.name == "Contacting"
        models.database.close()
        # Escape closes it; focus goes back to the card.
        htmx_settled(page)
        panel.focus()
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(page).to_have_url(f"{live_server}/board?owner=me&sort=name&group=status")
        expect(page.locator(f"#card-{anna.id} .card-name")).to_be_focused()
        # Back closes it too.
        if viewport is PHONE:  # Bo's column is not the one shown now
            key = page.locator(f"#card-{bo.id}").locator("xpath=ancestor::section") \
                .get_attribute("data-column-section")
            page.locator(f"[data-show-column='{key}']").click()
        page.locator(f"#card-{bo.id} .card-name").click()
        expect(panel.get_by_role("heading", name="Bo Ek")).to_be_visible()
        htmx_settled(page)
        page.go_back()
        expect(page.locator("#card-preview")).to_be_hidden()
        expect(page.locator(f"#card-{bo.id} .card-name")).to_be_focused()
        # A shared link opens the board with the panel; its Close button closes it.
        page.goto(f"/board?contact={bo.id}")
        expect(page.locator("#card-preview").get_by_role("heading", name="Bo Ek")).to_be_visible()
        htmx_settled(page)
        page.locator("#card-preview").get_by_role("link", name=text["close"]).click()
        expect(page.locator("#card-preview")).to_be_hidden()
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "sv"])
def test_an_unknown_contact_says_so_in_the_panel(browser, live_server, language):
    """A link to a contact that does not exist: the board, and a message in the panel."""
    setup_rep(language)
    context, page = open_page(browser, live_server, PHONE)
    try:
        page.goto("/board?contact=424242")
        expect(page.locator("#card-preview .error-message")).to_contain_text(
            TEXTS[language]["missing"])
        expect(page.locator("[data-board]")).to_be_attached()
    finally:
        context.close()
