"""Dashboards in a real browser: live tiles, the catalogue, dragging and removing tiles."""
import models
from models import Actor, Category, User, create_company, create_contact
from models.dashboards import Dashboard, Tile
from playwright.sync_api import expect

from .conftest import htmx_settled
from .test_settings import drag

PASSWORD = "correct horse"


def make_user(email, name, role):
    user = User(email=email, name=name, role=role)
    user.set_password(PASSWORD)
    user.save()
    return user


def setup_team():
    """A manager and a rep with three Open leads."""
    models.database.connect(reuse_if_open=True)
    make_user("mona@example.test", "Mona Manager", "manager")
    rep = make_user("rita@example.test", "Rita Rep", "rep")
    lead = Category.get(Category.name == "Lead")
    company = create_company(Actor(rep), name="Fjällbo AB", category=lead, owner=rep)
    contacts = [create_contact(company, Actor(rep), first_name=name, last_name="Berg",
                               owner=rep, utm_source="linkedin")
                for name in ("Anna", "Bo", "Cai")]
    models.database.close()
    return contacts


def sign_in(page, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-menu")).to_be_attached()  # signed in, on the landing page


def open_dashboard(page):
    # By address: on a phone the menu with the Dashboard link is folded.
    page.goto("/dashboards")
    expect(page.locator(".tile")).to_have_count(9)
    expect(page.locator(".tile.loading")).to_have_count(0, timeout=15_000)
    htmx_settled(page)


def tile_of(kind):
    models.database.connect(reuse_if_open=True)
    tile = Tile.select().where(Tile.kind == kind).order_by(Tile.id.desc()).first()
    models.database.close()
    return tile


def figure(page, tile, label):
    """The number a tile shows for `label`, as its screen-reader table gives it."""
    return page.locator(f"#tile-{tile.id} .chart-table tr", has=page.locator(
        "th", has_text=label)).locator("td")


def test_a_move_on_the_board_updates_the_managers_tile_live(page, browser, live_server,
                                                            artifacts):
    anna, _, _ = setup_team()
    sign_in(page, "mona@example.test")
    open_dashboard(page)
    status_tile = tile_of("status_counts")
    expect(figure(page, status_tile, "Open")).to_have_text("3")
    expect(figure(page, status_tile, "Contacting")).to_have_text("0")
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)
    other_tile_before = page.locator(f"#tile-{tile_of('category_counts').id}").get_attribute(
        "data-fingerprint")

    rep = browser.new_context(base_url=live_server).new_page()
    sign_in(rep, "rita@example.test")
    rep.get_by_role("link", name="Board", exact=True).click()
    htmx_settled(rep)
    rep.locator(f"#card-{anna.id} summary").click()
    rep.locator(f"#card-{anna.id}").get_by_role("button", name="Contacting").click()

    expect(figure(page, status_tile, "Contacting")).to_have_text("1", timeout=10000)
    expect(figure(page, status_tile, "Open")).to_have_text("2")
    expect(page.locator(f"#tile-{status_tile.id} .tile-number")).to_contain_text("3")
    # Companies by category does not depend on lead statuses: not redrawn.
    assert page.locator(f"#tile-{tile_of('category_counts').id}").get_attribute(
        "data-fingerprint") == other_tile_before


def test_a_manager_builds_a_marketing_dashboard(page):
    setup_team()
    sign_in(page, "mona@example.test")
    open_dashboard(page)
    page.get_by_text("New dashboard").click()
    page.get_by_label("Name of the new dashboard").fill("Marketing")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Marketing", level=1)).to_be_visible()
    expect(page.get_by_text("No tiles yet.")).to_be_visible()

    for name in ("Leads by source and campaign", "New leads", "Number of leads"):
        page.get_by_role("link", name="Add tile").click()
        page.get_by_role("link", name=name, exact=True).click()
        page.get_by_role("button", name="Add tile").click()
        expect(page.locator("#dashboard-panel")).to_be_empty()
    tiles = page.locator("#tiles > .tile")
    expect(tiles).to_have_count(3)
    expect(page.locator(".tile.loading")).to_have_count(0)
    expect(tiles.first).to_contain_text("linkedin")
    htmx_settled(page)

    drag(page, tiles.nth(2).locator(".handle"), tiles.nth(0).locator(".handle"))
    expect(tiles.first).to_contain_text("Number of leads")
    htmx_settled(page)
    page.reload()
    expect(page.locator("#tiles > .tile").first).to_contain_text("Number of leads")

    page.once("dialog", lambda dialog: dialog.accept())
    number_tile = page.locator("#tiles > .tile").first
    number_tile.locator(".tile-menu summary").click()
    number_tile.get_by_role("button", name="Remove").click()
    expect(page.locator("#tiles > .tile")).to_have_count(2)
    models.database.connect(reuse_if_open=True)
    marketing = Dashboard.get(Dashboard.name == "Marketing")
    assert [t.kind for t in Tile.select().where(Tile.dashboard == marketing)
            .order_by(Tile.position)] == ["utm", "new_leads"]
    models.database.close()


def test_a_broken_tile_shows_its_error_and_can_be_fixed(page):
    setup_team()
    sign_in(page, "mona@example.test")
    open_dashboard(page)
    stale = tile_of("stale")
    models.database.connect(reuse_if_open=True)
    Tile.update(params='{"days": 0}').where(Tile.id == stale.id).execute()
    models.database.close()
    page.reload()
    box = page.locator(f"#tile-{stale.id}")
    expect(box.get_by_role("alert")).to_contain_text("must be a whole number from 1 to 365")
    expect(page.locator(f"#tile-{tile_of('status_counts').id} .tile-body")).to_be_visible()
    box.get_by_role("link", name="Fix the tile's settings").click()
    box.get_by_label("No change for (days)").fill("7")
    box.get_by_role("button", name="Save").click()
    expect(box.locator(".tile-number")).to_contain_text("0")
    expect(box.get_by_role("alert")).to_have_count(0)


def test_the_dashboard_fits_the_window_and_shows_whole_labels(browser, live_server):
    """No sideways scroll at 1,440 or 390 px; a long category name is read whole on its bar
    (item 9: "Marketing qualified l", in Swedish 70 px too wide)."""
    setup_team()
    models.database.connect(reuse_if_open=True)
    mql = Category.get(Category.name == "Marketing qualified lead (MQL)")
    create_company(Actor(), name="Långa Namn AB", category=mql)
    models.database.close()
    for width in (1440, 390):
        context = browser.new_context(base_url=live_server, locale="en-GB",
                                      viewport={"width": width, "height": 900})
        page = context.new_page()
        sign_in(page, "mona@example.test")
        open_dashboard(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # On the category tile and as a funnel stage.
        labels = page.locator(".chart text.bar-label", has_text="Marketing qualified lead (MQL)")
        expect(labels).to_have_count(2)
        fits = labels.evaluate_all("""texts => texts.map(text => {
            const svg = text.ownerSVGElement.getBoundingClientRect();
            const box = text.getBoundingClientRect();
            return !text.hasAttribute('clip-path') && box.right <= svg.right + 0.5; })""")
        assert fits == [True, True]
        context.close()
