"""What every screen shares: fragment-or-page rendering, fetch-or-404, roles."""
from functools import wraps

from flask import abort, current_app, make_response, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_required
from jinja2 import pass_context
from jinja2_fragments.flask import render_block, render_blocks
from markupsafe import Markup
from peewee import DoesNotExist

from models import RuleViolation
from models.prepared import row_by_id
from models.search import contact_with_relations
from models.values import as_int

from .errors import error_response
from .i18n import message_params


def wants_fragment():
    """True for an htmx request that swaps part of a page (not a boost or history restore)."""
    return bool(request.htmx) and not request.htmx.boosted \
        and not request.htmx.history_restore_request


def render(template, block=None, status=200, **context):
    """The one place deciding fragment or page: htmx gets `block`, everyone else the page.

    `block` may be a list: the first block answers the target, the others are
    out-of-band swaps (templates mark them with `{{ oob("name") }}`).
    """
    if isinstance(block, (list, tuple)) and wants_fragment():
        body = render_blocks(template, list(block), oob_blocks=block[1:], **context)
    elif block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return make_response(body, status)


def contact_or_404(contact_id):
    """The live contact of this id with its company, category, status and owner (one
    prepared query), or the 404 page."""
    contact = contact_with_relations(contact_id)
    if contact is None:
        abort(404)
    return contact


def get_or_404(query, object_id):
    """Fetch one row of `query` (a model or a select) by id, or answer with the 404 page.

    A model's row is read by a query written once (models/prepared.py): pages
    such as a dashboard's tiles ask for one on every request."""
    if isinstance(query, type):
        row = row_by_id(query, object_id)
        if row is None:
            abort(404)
        return row
    model = query.model
    try:
        return query.where(model.id == object_id).get()
    except DoesNotExist:
        abort(404)


def rule_message(error: RuleViolation):
    """A refused change's message in the user's language, naming lists in it too."""
    return gettext(error.message, **message_params(error.params))


def show_refusal(form, error):
    """A refused change's message next to the form field it names (each field's, when
    several were refused at once), else returned for the caller to show above the form."""
    unplaced = None
    for refusal in getattr(error, "refusals", [error]):
        name = refusal.params.get("field")
        if name in form:
            form[name].errors = [*form[name].errors, rule_message(refusal)]
        else:
            unplaced = unplaced or rule_message(refusal)
    return unplaced


def int_arg(name, default=None, values=None):
    """The integer a query argument (or `values`, e.g. request.form) holds, else `default`.

    The one way views read a number from a request: ASCII digits only and
    never beyond 64 bits (models.values.as_int), so "²" or twenty digits
    are simply no number.
    """
    number = as_int((request.args if values is None else values).get(name))
    return default if number is None else number


def role_required(*roles):
    """Let only signed-in users with one of `roles` through; others get 403."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def admin_only(blueprint):
    """Guard every route of `blueprint`, fragments included: sign-in, then admin role."""
    @blueprint.before_request
    def require_admin():
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
    return blueprint


def page_number():
    """The `page` query argument, 1 when missing or not a number."""
    return int_arg("page", 1) or 1


def int_list(name, values=None):
    """All integer values of a repeated query argument (or form field); junk is dropped."""
    numbers = [as_int(raw) for raw in (request.args if values is None else values).getlist(name)]
    return [number for number in numbers if number is not None]


@pass_context
def oob(context, block_name):
    """The hx-swap-oob attribute, when `block_name` is sent out of band."""
    return Markup(' hx-swap-oob="true"') if block_name in context.get("oob_blocks", ()) else ""


def save_posted_order(reorder, actor):
    """Store the order a list was dragged into (the posted `order` ids).

    Returns an error response when the ids cannot be read (422) or the
    rules refuse them (409), None when the order was saved.
    """
    ids = [as_int(raw) for raw in request.form.getlist("order")]
    if None in ids:
        return error_response(422, gettext("The order could not be read."))
    try:
        reorder(ids, actor)
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    return None
