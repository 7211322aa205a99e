"""Settings (admins only): lists, workflow, users and web forms arrive here."""
from flask import Blueprint

from models import Category, LeadStatus, User

from .common import render, role_required

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.get("/")
@role_required("admin")
def index():
    """The settings overview: what each area holds today."""
    return render("settings/index.html",
                  categories=list(Category.ordered(include_retired=True)),
                  statuses=list(LeadStatus.ordered(include_retired=True)),
                  user_count=User.select().count())
