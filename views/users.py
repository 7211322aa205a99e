"""Settings → Users: accounts, roles, languages."""
from flask import Blueprint

from .common import admin_only, render

bp = admin_only(Blueprint("users", __name__, url_prefix="/settings/users"))


@bp.get("/")
def index():
    """The list."""
    return render("users/index.html")
