"""Company cards and lists on a phone (390 px, touch) and at the desk (1,440 px), in
English and Swedish: a company card has the card menu; a list's numbers keep their
headings when its rows stack."""
import models
import pytest
from models import Actor, Category, Company, User, create_company, create_contact
from playwright.sync_api import expect

from .conftest import htmx_settled

PASSWORD = "correct horse"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
TEXTS = {"en": {"actions": "Actions for Fjällbo AB", "opportunity": "Opportunity",
                "contacts": "Contacts"},
         "sv": {"actions": "Åtgärder för Fjällbo AB", "opportunity": "Affärsmöjlighet",
                "contacts": "Kontakter"}}


def setup_rep(language):
    """A rep (in `language`) with a Lead company of two contacts."""
    models.database.connect(reuse_if_open=True)
    rep = User(email="rita@example.test", name="Rita Rep", role="rep", language=language)
    rep.set_password(PASSWORD)
    rep.save()
    company = create_company(Actor(rep), name="Fjällbo AB", category=Category.get(name="Lead"),
                             owner=rep)
    for first, last in (("Anna", "Berg"), ("Bo", "Ek")):
        create_contact(company, Actor(rep), first_name=first, last_name=last, owner=rep)
    models.database.close()
    return company


def signed_in(browser, live_server, viewport):
    phone = viewport is PHONE
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport=viewport,
                                  has_touch=phone, is_mobile=phone)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login")
    page.locator("input[name=email]").fill("rita@example.test")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button.primary").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def fits(page):
    width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    return width[0] <= width[1]


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["390", "1440"])
@pytest.mark.parametrize("language", ["en", "sv"])
def test_r10_a_company_card_moves_by_its_menu(browser, live_server, artifacts, viewport,
                                              language):
    """The company board's cards have the card menu: "Move to…" moves the company (R10)
    by touch, and the board redraws with it in its new column."""
    company = setup_rep(language)
    text = TEXTS[language]
    context, page = signed_in(browser, live_server, viewport)
    try:
        page.goto("/board/companies")
        htmx_settled(page)
        card = page.locator(f"#company-card-{company.id}")
        menu = card.get_by_label(text["actions"])
        menu.tap() if viewport is PHONE else menu.click()
        choice = card.get_by_role("button", name=text["opportunity"], exact=True)
        expect(choice).to_be_visible()
        page.screenshot(path=artifacts / f"company-card-menu-{language}-{viewport['width']}.png")
        assert fits(page)
        choice.tap() if viewport is PHONE else choice.click()
        opportunity = page.locator(f"section[aria-label='{text['opportunity']}']")
        expect(opportunity.locator(f"#company-card-{company.id}")).to_be_attached()
        models.database.connect(reuse_if_open=True)
        assert Company.get_by_id(company.id).category.name == "Opportunity"
        models.database.close()
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["390", "1440"])
@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_lists_numbers_say_what_they_count_on_a_phone(browser, live_server, artifacts,
                                                       viewport, language):
    """On a phone the headings are hidden and each number carries its own label; at the
    desk the heading says it and the cell holds the bare number."""
    setup_rep(language)
    context, page = signed_in(browser, live_server, viewport)
    try:
        page.goto("/companies")
        htmx_settled(page)
        cell = page.locator("table.list tbody td.num").first
        expect(cell).to_have_text("2")
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        heading = page.locator("table.list thead")
        if viewport is PHONE:
            expect(heading).to_be_hidden()
            assert label == f'"{TEXTS[language]["contacts"]}: "'
        else:
            expect(heading).to_be_visible()
            assert label == "none"
        assert fits(page)
        page.screenshot(path=artifacts / f"companies-list-{language}-{viewport['width']}.png")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["390", "1440"])
@pytest.mark.parametrize("language", ["en", "sv"])
def test_companies_list_sorts_by_a_heading_and_filters_by_category(
        browser, live_server, artifacts, viewport, language):
    """Sorted by number of contacts (twice: descending), then filtered by category: the
    sort stays; on a phone the sort is reached from the headings too (they are hidden)."""
    setup_rep(language)
    models.database.connect(reuse_if_open=True)
    rep = User.get(User.email == "rita@example.test")
    create_company(Actor(rep), name="Aalto Oy", category=Category.get(name="Customer"), owner=rep)
    models.database.close()
    contacts = TEXTS[language]["contacts"]
    context, page = signed_in(browser, live_server, viewport)
    try:
        page.goto("/companies")
        names = page.locator("table.list tbody tr td:first-child a")
        expect(names).to_have_text(["Aalto Oy", "Fjällbo AB"])
        page.goto("/companies?sort=contacts")  # what the heading's link asks for
        htmx_settled(page)
        if viewport is DESK:
            page.locator("thead").get_by_role("link", name=contacts).click()
            expect(page).to_have_url(f"{live_server}/companies?sort=-contacts&q=")
        else:
            page.goto("/companies?sort=-contacts")
        expect(names).to_have_text(["Fjällbo AB", "Aalto Oy"])
        htmx_settled(page)
        page.locator("select[name=category]").select_option(label="Lead")
        expect(names).to_have_text(["Fjällbo AB"])
        assert "sort=-contacts" in page.url and "category=" in page.url
        assert fits(page)
        page.screenshot(path=artifacts / f"companies-sorted-{language}-{viewport['width']}.png")
    finally:
        context.close()
