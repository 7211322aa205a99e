"""Settings → Workflow → Lead categorization (R15, R18)."""
import pytest

from models import AuditLog, Category, LeadStatus
from models.schema import CategorizationRule

from .conftest import HTMX


def category_id(name):
    return Category.get(Category.name == name).id


def status_id(name):
    return LeadStatus.get(LeadStatus.name == name).id


def snapshot():
    return sorted((r.trigger, r.lead_status_id, r.enabled, r.target_category_id, r.ask_confirm)
                  for r in CategorizationRule.select())


def test_r15_screen_lists_the_sale_rules_and_every_status(admin_client, users):
    page = admin_client.get("/settings/workflow/").data.decode()
    for text in ("Sale marked Sold", "Sale marked Lost", "Sale registered",
                 "Lead status set to Qualified", "Lead status set to Nurture"):
        assert text in page


def test_r15_admin_switches_on_two_rules(admin_client, users):
    qualified = status_id("Qualified")
    response = admin_client.post("/settings/workflow/", data={
        "rule-sale_sold-0-enabled": "y", "rule-sale_sold-0-target": category_id("Customer"),
        f"rule-status_set-{qualified}-enabled": "y",
        f"rule-status_set-{qualified}-target": category_id("Opportunity"),
        f"rule-status_set-{qualified}-confirm": "y"})
    assert response.status_code == 302
    sold = CategorizationRule.get(trigger="sale_sold")
    assert (sold.enabled, sold.target_category.name, sold.ask_confirm) == (True, "Customer", False)
    rule4 = CategorizationRule.get(trigger="status_set", lead_status=qualified)
    assert (rule4.enabled, rule4.target_category.name, rule4.ask_confirm) == \
        (True, "Opportunity", True)
    assert AuditLog.select().where(AuditLog.area == "workflow").count() == 2
    page = admin_client.get("/settings/workflow/").data.decode()
    assert "Lead categorization saved." in page


@pytest.mark.parametrize("data, message", [
    ({"rule-sale_sold-0-enabled": "y"}, "Choose a category for every rule"),
    ({"rule-sale_bought-0-enabled": "y", "rule-sale_bought-0-target": "1"}, "Unknown trigger"),
    ({"rule-sale_sold-0-enabled": "y", "rule-sale_sold-0-target": "4242"}, "Unknown category"),
    ({"rule-sale_sold-0-target": "abc"}, "Unknown category"),
    ({"rule-status_set-4242-enabled": "y", "rule-status_set-4242-target": "1"},
     "Unknown lead status"),
    ({"rule-x": "y"}, "Unknown trigger"),
])
def test_r18_forged_or_incomplete_settings_change_nothing(admin_client, users, data, message):
    before = snapshot()
    response = admin_client.post("/settings/workflow/", data={
        "rule-sale_lost-0-enabled": "y", "rule-sale_lost-0-target": category_id("Customer"),
        **data})
    assert response.status_code == 422
    assert message in response.data.decode()
    assert snapshot() == before
    # The admin's unsaved choices are kept on the page.
    assert 'name="rule-sale_lost-0-enabled" value="y" checked' in response.data.decode()


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("method", ["get", "post"])
def test_rep_is_refused(client, users, method, htmx):
    before = snapshot()
    response = getattr(client, method)("/settings/workflow/", headers=HTMX if htmx else {},
                                       data={"rule-sale_sold-0-enabled": "y",
                                             "rule-sale_sold-0-target": "1"})
    assert response.status_code == 403 and snapshot() == before
