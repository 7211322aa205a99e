"""Settings screens in a real browser."""
import models
from models import Category, User
from playwright.sync_api import expect

from .conftest import htmx_settled, sortables_ready


def make_admin():
    models.database.connect(reuse_if_open=True)
    admin = User(email="ada@example.test", name="Ada Admin", role="admin")
    admin.set_password("correct horse")
    admin.save()
    models.database.close()


def sign_in_admin(page):
    page.goto("/login")
    page.get_by_label("E-mail").fill("ada@example.test")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-menu")).to_be_attached()  # signed in, on the landing page


def drag(page, source, target, share=0.5):
    """A real mouse drag in steps, as SortableJS's fallback mode needs, dropped at
    `share` of the target's height (0.5: its middle; less: above it)."""
    sortables_ready(page)
    box, goal = source.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + 5, steps=5)
    page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] * share + 4,
                    steps=20)
    page.mouse.up()


def test_r4_admin_reorders_categories_by_dragging(page):
    make_admin()
    sign_in_admin(page)
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Company categories")).to_be_visible()
    rows = page.locator("#category-list tbody tr")
    expect(rows.first).to_contain_text("Lead")
    htmx_settled(page)
    # Dropped on the first row's upper part: the moved row goes above it.
    drag(page, rows.nth(5).locator(".handle"), rows.nth(0), share=0.1)
    expect(rows.first).to_contain_text("Partner")
    htmx_settled(page)
    page.reload()
    expect(page.locator("#category-list tbody tr").first).to_contain_text("Partner")
    models.database.connect(reuse_if_open=True)
    assert [c.name for c in Category.ordered()][0] == "Partner"
    models.database.close()


def test_r2_admin_is_told_why_lead_status_cannot_be_enabled(page):
    make_admin()
    sign_in_admin(page)
    page.goto("/settings/categories/new")
    page.get_by_label("Name", exact=True).first.fill("VIP customer")  # the default name
    page.get_by_label("Category group").select_option(label="Customer")
    page.get_by_label("Enable lead status").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error")).to_contain_text("Potential customer")
    page.get_by_label("Enable lead status").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#category-list")).to_contain_text("VIP customer")
