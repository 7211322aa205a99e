"""The audit log of admin changes: lists, users and, later, workflow settings."""
from peewee import JOIN

from .schema import AuditLog, User

AREAS = ("categories", "lead_statuses", "users", "workflow", "web_forms")


def record_audit(actor, area, action, subject="", details=""):
    """Append one entry. Call it inside the transaction of the change it describes."""
    user = actor.user if actor is not None else None
    return AuditLog.create(actor=user, area=area, action=action, subject=subject[:255],
                           details=details)


def describe_changes(before, after):
    """`field: old → new` for each field whose value differs, as one line each."""
    lines = []
    for field, old in before.items():
        new = after.get(field)
        if old != new:
            lines.append(f"{field}: {old!r} → {new!r}")
    return "\n".join(lines)


def audit_entries(area=None):
    """Newest first, with the acting user in the same query."""
    query = (AuditLog.select(AuditLog, User)
             .join(User, join_type=JOIN.LEFT_OUTER, on=(AuditLog.actor == User.id), attr="actor")
             .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()))
    return query.where(AuditLog.area == area) if area else query
