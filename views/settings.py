"""Settings (admins only): the entry page and the audit log of admin changes."""
import json

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext

from models import LANGUAGES, ROLES, audit_entries, paginate
from models.audit import AREAS, audit_changes
from models.distribution import STRATEGIES, DistributionFlow
from models.schema import N_
from models.webforms import FORM_FIELDS

from .common import admin_only, page_number, render
from .i18n import category_name, group_label, request_vocabulary, source_text, status_name

bp = admin_only(Blueprint("settings", __name__, url_prefix="/settings"))

ACTIONS = {
    "created": N_("Created"), "changed": N_("Changed"), "deleted": N_("Deleted"),
    "retired": N_("Retired"), "restored": N_("Restored"), "reordered": N_("Reordered"),
    "made initial": N_("Made the initial status"), "password reset": N_("Password reset"),
    "deactivated": N_("Deactivated"), "reactivated": N_("Reactivated"),
    "enabled": N_("Opened"), "disabled": N_("Closed"), "new address": N_("New address"),
    "purged": N_("Removed for good"), "merged": N_("Merged"),
    "exported": N_("Personal data exported"), "erased": N_("Personal data erased"),
    "revoked": N_("Revoked"),
}
FIELDS = {
    "name": N_("Name"), "description": N_("Description"), "group": N_("Category group"),
    "lead_status_enabled": N_("Enable lead status"), "initial": N_("Initial lead status"),
    "order": N_("Order"), "email": N_("E-mail"), "role": N_("Role"), "language": N_("Language"),
    "active": N_("Active"), "enabled": N_("On"), "target": N_("Set category to"),
    "ask_confirm": N_("Ask the user to confirm"), "category": N_("Category"),
    "flow": N_("Distribution flow"), "fields": N_("Fields"),
    "redirect_url": N_("Or send the visitor to this address"),
    "thank_you": N_("Thank-you text"), "allowed_origins": N_("Web sites that may post to the form"),
    "rate_limit": N_("Submissions per minute from one address"), "strategy": N_("Strategy"),
    "members": N_("Members"), "contacts": N_("Contacts"), "companies": N_("Companies"),
    "scope": N_("Access"),
    "events": N_("Events"),
}


@bp.get("/")
def index():
    """Settings open on the first list, company categories."""
    return redirect(url_for("categories.index"))


@bp.get("/audit")
def audit():
    """Who changed which list entry or user, and when."""
    area = request.args.get("area", "")
    area = area if area in AREAS else ""
    page = paginate(audit_entries(area or None), page_number(), per_page=50)
    return render("settings/audit.html", "entries", page=page, area=area, areas=AREAS,
                  describe=AuditNames().describe, action_label=action_label,
                  subject_text=subject_text)


def action_label(action):
    return gettext(ACTIONS[action]) if action in ACTIONS else action


RECORD_SUBJECTS = {"Contact": N_("Contact %(ids)s"), "Company": N_("Company %(ids)s")}
FLOW_SUBJECT = "Distribution flow: "  # how models/distribution.py names a flow's entries


def subject_text(entry):
    """What an entry is about; rules and flows named in the reader's language."""
    subject = entry.subject
    if entry.area == "records":  # "Contact 12", "Company 3", "Contact 12 → 9" (ids only)
        kind, _, ids = subject.partition(" ")
        text = RECORD_SUBJECTS.get(kind)
        return gettext(text, ids=ids) if text else subject
    if entry.area == "workflow":
        return source_text("rule", subject)
    if subject.startswith(FLOW_SUBJECT):
        return gettext("Distribution flow: %(name)s", name=subject[len(FLOW_SUBJECT):])
    return subject


def empty(value):
    return value is None or value == "" or value == []


class AuditNames:
    """Names the values of audit entries in the reader's language; the lists it needs
    are read once per page."""

    def __init__(self):
        self.vocabulary = request_vocabulary()
        self._flows = None

    def describe(self, entry):
        """The entry's changes as readable lines ("Category group: Customer → Partner"),
        or its text as it is when it holds no changes."""
        changes = audit_changes(entry.details)
        if changes is None:
            return [entry.details]
        return [self.line(entry.area, field, old, new) for field, old, new in changes
                if not (empty(old) and empty(new))]

    def line(self, area, field, old, new):
        label = self.field_label(field)
        if empty(old) or field == "order":
            return gettext("%(field)s: %(new)s", field=label, new=self.value(area, field, new))
        return gettext("%(field)s: %(old)s → %(new)s", field=label,
                       old=self.value(area, field, old), new=self.value(area, field, new))

    @staticmethod
    def field_label(field):
        kind, _, language = field.rpartition("_")
        if kind in ("name", "description") and language in LANGUAGES:
            return gettext("%(field)s (%(language)s)", field=gettext(FIELDS[kind]),
                           language=LANGUAGES[language])
        return gettext(FIELDS[field]) if field in FIELDS else field

    def value(self, area, field, value):
        if empty(value):
            return "—"
        if isinstance(value, bool):
            return gettext("yes") if value else gettext("no")
        if field in ("target", "category"):
            return category_name(value) or gettext("(deleted)")
        if field == "group":
            return group_label(value)
        if field == "initial":
            return status_name(value) if isinstance(value, int) else str(value)
        if field == "order" and isinstance(value, list):
            name = status_name if area == "lead_statuses" else category_name
            return " → ".join(name(item) or "?" for item in value)
        if field == "role":
            return gettext(ROLES[value]) if value in ROLES else str(value)
        if field == "language":
            return LANGUAGES.get(value, str(value))
        if field == "strategy":
            return gettext(STRATEGIES[value]) if value in STRATEGIES else str(value)
        if field == "members" and isinstance(value, list):
            users = self.vocabulary.users
            return ", ".join(users[i].name if i in users else "?" for i in value)
        if field == "flow":
            return self.flows().get(value) or gettext("(deleted)")
        if field == "fields":
            return self.form_fields(value)
        return str(value)

    def flows(self):
        if self._flows is None:
            self._flows = dict(DistributionFlow.select(DistributionFlow.id,
                                                       DistributionFlow.name).tuples())
        return self._flows

    @staticmethod
    def form_fields(value):
        """The fields a web form asks, the required ones marked."""
        try:
            config = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return str(value)
        if not isinstance(config, dict):
            return str(value)
        asked = []
        for key, label in FORM_FIELDS.items():
            field = config.get(key) or {}
            if isinstance(field, dict) and field.get("ask"):
                asked.append(gettext("%(field)s (required)", field=gettext(label))
                             if field.get("required") else gettext(label))
        return ", ".join(asked) or "—"
