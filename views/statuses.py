"""Settings → Lists → Lead statuses (R5, R6)."""
from flask import Blueprint

from .common import admin_only, render

bp = admin_only(Blueprint("statuses", __name__, url_prefix="/settings/lead-statuses"))


@bp.get("/")
def index():
    """The list."""
    return render("statuses/index.html")
