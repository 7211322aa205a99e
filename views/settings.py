"""Settings (admins only): the entry page and the audit log of admin changes."""
from flask import Blueprint, redirect, request, url_for

from models import audit_entries, paginate
from models.audit import AREAS

from .common import admin_only, page_number, render

bp = admin_only(Blueprint("settings", __name__, url_prefix="/settings"))


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
    return render("settings/audit.html", "entries", page=page, area=area, areas=AREAS)
