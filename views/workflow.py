"""Settings → Workflow → Lead categorization: the four rules of R15 (R18 on save)."""
import re

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from models import Actor, Category, RuleViolation
from models.categorization import rules_for_settings, save_rules
from models.schema import N_
from models.values import as_int

from .common import admin_only, render, rule_message

bp = admin_only(Blueprint("workflow", __name__, url_prefix="/settings/workflow"))

# Form fields are named rule-<trigger>-<lead status id or 0>-<part>.
FIELD = re.compile(r"^rule-([a-z_]{1,30})-(\d{1,9})-(enabled|target|confirm)$")


def rule_key(rule):
    return f"rule-{rule.trigger}-{rule.lead_status_id or 0}"


def parse_settings(form):
    """The posted rules as save_rules expects them; junk gives a RuleViolation."""
    settings = {}
    for name, value in form.items(multi=True):
        if not name.startswith("rule-"):
            continue
        match = FIELD.match(name)
        if not match:
            raise RuleViolation(N_("Unknown trigger."))
        trigger, status_id, part = match.groups()
        key = (trigger, int(status_id) or None)
        values = settings.setdefault(key, {"enabled": False, "target_category_id": None,
                                           "ask_confirm": False})
        if part == "enabled":
            values["enabled"] = True
        elif part == "confirm":
            values["ask_confirm"] = True
        elif value:
            if as_int(value) is None:
                raise RuleViolation(N_("Unknown category."))
            values["target_category_id"] = as_int(value)
    return settings


def settings_page(status=200, error=None, posted=None):
    rules = rules_for_settings()
    return render("workflow/index.html", status=status, rules=rules, rule_key=rule_key,
                  categories=list(Category.ordered()), error=error, posted=posted)


@bp.get("/")
def index():
    """The rules with their switches, targets and confirm flags."""
    return settings_page()


@bp.post("/")
def save():
    """Save every rule at once; a switched-on rule needs a target (R18)."""
    try:
        save_rules(parse_settings(request.form), Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return settings_page(status=422, error=rule_message(error), posted=request.form)
    flash(gettext("Lead categorization saved."))
    return redirect(url_for("workflow.index"))
