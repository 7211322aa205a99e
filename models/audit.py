"""The audit log of admin changes: lists, users, workflow settings, web forms, and of
records deleted, restored and purged (R27)."""
import ast
import json

from peewee import JOIN

from .schema import AuditLog, User

AREAS = ("categories", "lead_statuses", "users", "workflow", "web_forms", "records",
         "api_tokens", "webhooks")
ARROW = " → "


def record_audit(actor, area, action, subject="", details=""):
    """Append one entry. Call it inside the transaction of the change it describes."""
    user = actor.user if actor is not None else None
    return AuditLog.create(actor=user, area=area, action=action, subject=subject[:255],
                           details=details)


def describe_changes(before, after):
    """The fields whose value differs, as JSON for `details`: [{"field", "old", "new"}].

    Values are kept as they are stored (ids, codes, flags), so the log can
    name them in the reader's language when it is shown (audit_changes).
    """
    changes = [{"field": field, "old": old, "new": after.get(field)}
               for field, old in before.items() if old != after.get(field)]
    return json.dumps(changes, ensure_ascii=False, default=str) if changes else ""


def audit_changes(details):
    """[(field, old, new)] of an entry's `details`, or None when they are free text.

    Reads the JSON of describe_changes and also the `field: 'old' → 'new'`
    lines that entries written before it hold.
    """
    details = (details or "").strip()
    if not details:
        return []
    try:
        changes = json.loads(details)
    except ValueError:
        return _legacy_changes(details)
    if isinstance(changes, list) and all(isinstance(c, dict) and "field" in c for c in changes):
        return [(c["field"], c.get("old"), c.get("new")) for c in changes]
    return None


def _legacy_changes(details):
    changes = []
    for line in details.splitlines():
        field, colon, values = line.partition(": ")
        if not colon or not field.isidentifier():
            return None
        parts = values.split(ARROW)
        # A value may itself hold an arrow: try each split until both sides read back.
        for cut in range(1, len(parts)):
            try:
                old = ast.literal_eval(ARROW.join(parts[:cut]))
                new = ast.literal_eval(ARROW.join(parts[cut:]))
            except (ValueError, SyntaxError):
                continue
            changes.append((field, old, new))
            break
        else:
            return None
    return changes


def audit_entries(area=None):
    """Newest first, with the acting user in the same query."""
    query = (AuditLog.select(AuditLog, User)
             .join(User, join_type=JOIN.LEFT_OUTER, on=(AuditLog.actor == User.id), attr="actor")
             .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()))
    return query.where(AuditLog.area == area) if area else query
