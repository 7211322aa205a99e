"""Dashboards: tiles that count, list and chart leads, refreshed live.

The dashboard page draws an empty box per tile; each box loads its own
fragment, so a slow tile never holds up the others and a failing one shows
its error in its own box. When the change feed reports news, the page asks
once for all its tiles (`refresh`) with the fingerprint of what each shows;
the answer carries only the tiles whose figures changed, or is 204.

Figures come from the process's tile cache (models/tile_cache.py): the
managers looking at the same tiles share one computation per change.
"""
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, make_response, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from models import RuleViolation
from models.dashboards import (CATALOGUE, MAX_STAGES, SO_FAR, Dashboard, Tile, TileContext,
                               TileParamError, add_tile, available_selections, can_edit,
                               can_share, can_view, compute_tile, create_dashboard,
                               dashboard_tiles, delete_dashboard, ensure_default_dashboard,
                               quiet_buckets, remove_tile, reorder_tiles, stage_object,
                               tile_cache_key, tile_drill, update_dashboard, update_tile,
                               validate_params, visible_dashboards)
from models.schema import CATEGORY_GROUPS, N_

from .common import get_or_404, int_list, page_number, render, rule_message, wants_fragment
from .i18n import category_name, group_label, request_vocabulary, status_name
from .search import criteria_args

bp = Blueprint("dashboards", __name__)

DEFAULT_NAME = N_("Overview")
DRILL_PER_PAGE = 50
TILE_FAILED = N_("This tile could not be computed. The other tiles are not affected.")


# --- Loading and guarding ------------------------------------------------------------

def me():
    return current_user._get_current_object()


def tile_context():
    """The user looking and today's date; `DASHBOARD_TODAY` pins the date (tests, demos)."""
    return TileContext(me(), today=current_app.config.get("DASHBOARD_TODAY"),
                       vocabulary=request_vocabulary())


def visible_dashboard(dashboard_id):
    """A dashboard this user may see; another user's private one is a 404, not a 403."""
    dashboard = get_or_404(Dashboard, dashboard_id)
    if not can_view(dashboard, current_user):
        abort(404)
    return dashboard


def editable_dashboard(dashboard_id):
    """A dashboard this user may change; a rep looking at a team dashboard gets 403."""
    dashboard = visible_dashboard(dashboard_id)
    if not can_edit(dashboard, current_user):
        abort(403)
    return dashboard


def dashboard_tile(dashboard, tile_id):
    """The tile of this id on `dashboard`, or the 404 page."""
    found = get_or_404(Tile, tile_id)
    if found.dashboard_id != dashboard.id:
        abort(404)
    return found


def tile_title(tile):
    """The tile's own title, else its kind's name, in the user's language."""
    title = tile.stored_params.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    spec = CATALOGUE.get(tile.kind)
    return gettext(spec.label) if spec else gettext("Unknown tile")


def helpers(dashboard):
    """Names every dashboards template uses."""
    return dict(dashboard=dashboard, editable=can_edit(dashboard, current_user),
                tile_title=tile_title, catalogue=CATALOGUE)


# --- Dashboards ----------------------------------------------------------------------

@bp.get("/dashboards")
@login_required
def index():
    """The user's first dashboard, made with the default tiles on the first visit."""
    dashboard = ensure_default_dashboard(me(), gettext(DEFAULT_NAME))
    return redirect(url_for("dashboards.show", dashboard_id=dashboard.id))


@bp.get("/dashboards/<int:dashboard_id>")
@login_required
def show(dashboard_id):
    """One dashboard: a box per tile, each loading (and refreshing) on its own."""
    dashboard = visible_dashboard(dashboard_id)
    return dashboard_page(dashboard)


def dashboard_page(dashboard, status=200, error=None):
    return render("dashboards/index.html", status=status, tiles=dashboard_tiles(dashboard),
                  dashboards=visible_dashboards(me()), can_share=can_share(current_user),
                  settings_error=error, **helpers(dashboard))


@bp.post("/dashboards")
@login_required
def create():
    """A new, empty dashboard of this user."""
    try:
        dashboard = create_dashboard(me(), request.form.get("name", ""))
    except RuleViolation as error:
        current = ensure_default_dashboard(me(), gettext(DEFAULT_NAME))
        return dashboard_page(current, 422, rule_message(error))
    return redirect(url_for("dashboards.show", dashboard_id=dashboard.id), 303)


@bp.post("/dashboards/<int:dashboard_id>")
@login_required
def update(dashboard_id):
    """Rename a dashboard, or share it with the team (managers and admins)."""
    dashboard = editable_dashboard(dashboard_id)
    try:
        update_dashboard(dashboard, me(), request.form.get("name", ""),
                         request.form.get("shared") == "1")
    except RuleViolation as error:
        return dashboard_page(get_or_404(Dashboard, dashboard_id), 422, rule_message(error))
    return redirect(url_for("dashboards.show", dashboard_id=dashboard.id), 303)


@bp.post("/dashboards/<int:dashboard_id>/delete")
@login_required
def delete(dashboard_id):
    """Delete a dashboard with its tiles."""
    dashboard = editable_dashboard(dashboard_id)
    if dashboard.owner_id != current_user.id:
        abort(403)
    delete_dashboard(dashboard)
    if wants_fragment():
        response = make_response("")
        response.headers["HX-Redirect"] = url_for("dashboards.index")
        return response
    return redirect(url_for("dashboards.index"), 303)


@bp.post("/dashboards/<int:dashboard_id>/order")
@login_required
def reorder(dashboard_id):
    """A drop in the tile grid: the new order is already on screen, so nothing to swap."""
    dashboard = editable_dashboard(dashboard_id)
    reorder_tiles(dashboard, int_list("order", values=request.form))
    if wants_fragment():
        return "", 204
    return redirect(url_for("dashboards.show", dashboard_id=dashboard.id), 303)


# --- One tile --------------------------------------------------------------------------

@bp.get("/dashboards/<int:dashboard_id>/tiles/<int:tile_id>")
@login_required
def tile(dashboard_id, tile_id):
    """One tile's figures; 204 when a refresh finds the figures shown (`fp`) unchanged."""
    dashboard = visible_dashboard(dashboard_id)
    found = dashboard_tile(dashboard, tile_id)
    ctx = tile_context()
    current_app.extensions["tile_cache"].hub.sync()
    view = tile_view(dashboard, found, ctx)
    if wants_fragment() and view["fingerprint"] \
            and request.args.get("fp") == view["fingerprint"]:
        return "", 204
    return render_tile(view)


@bp.get("/dashboards/<int:dashboard_id>/refresh")
@login_required
def refresh(dashboard_id):
    """The tiles on screen whose figures changed, out of band; 204 when none did.

    `fp` is repeated as "<tile id>:<fingerprint>" for each tile the page
    shows; tiles not named are not looked at.
    """
    dashboard = visible_dashboard(dashboard_id)
    if not wants_fragment():
        return redirect(url_for("dashboards.show", dashboard_id=dashboard.id))
    shown = {}
    for value in request.args.getlist("fp")[:MAX_TILES_REFRESHED]:
        tile_id, _, seen = value.partition(":")
        if tile_id.isascii() and tile_id.isdigit() and len(tile_id) <= 18:
            shown[int(tile_id)] = seen
    tiles = [t for t in dashboard_tiles(dashboard) if t.id in shown]
    if not tiles:
        return "", 204
    ctx = tile_context()
    current_app.extensions["tile_cache"].hub.sync()
    views = [tile_view(dashboard, found, ctx) for found in tiles]
    changed = [view for view in views
               if not view["fingerprint"] or view["fingerprint"] != shown[view["tile"].id]]
    if not changed:
        return "", 204
    return "".join(render_tile(view, out_of_band=True).get_data(as_text=True)
                   for view in changed)


MAX_TILES_REFRESHED = 100


def render_tile(view, out_of_band=False):
    """The tile's box with its figures; a tile that fails shows the failure in its box."""
    try:
        return render("dashboards/tile.html", "tile", out_of_band=out_of_band, **view)
    except Exception:  # noqa: BLE001 - one broken tile must not take the page down
        current_app.logger.exception("Dashboard tile %s could not be drawn", view["tile"].id)
        view.update(data=None, error=gettext(TILE_FAILED), fingerprint="")
        return render("dashboards/tile.html", "tile", out_of_band=out_of_band, **view)


def tile_figures(kind, params, ctx):
    """The tile's figures from this process's cache (computed when no valid copy is kept)."""
    key, depends_on, viewer = tile_cache_key(kind, params, ctx)
    return current_app.extensions["tile_cache"].figures(
        key, depends_on, viewer, lambda: compute_tile(kind, params, ctx))


def tile_view(dashboard, tile, ctx):
    """What the tile template needs: figures, or the error that stands in their place."""
    params = data = error = None
    fingerprint = ""
    try:
        params = validate_params(tile.kind, tile.params, ctx)
        figures = tile_figures(tile.kind, params, ctx)
        data, fingerprint = figures.data, figures.fingerprint
    except TileParamError as problem:
        error = rule_message(problem)
    except Exception:  # noqa: BLE001 - one broken tile must not take the page down
        current_app.logger.exception("Dashboard tile %s failed", tile.id)
        error = gettext(TILE_FAILED)
    spec = CATALOGUE.get(tile.kind)
    return dict(tile=tile, spec=spec, params=params, data=data, error=error,
                fingerprint=fingerprint, drill=drill_link(dashboard, tile),
                board_link=board_link, **helpers(dashboard))


def drill_link(dashboard, tile):
    """key -> the URL that opens the rows behind that figure of `tile`."""
    base = url_for("dashboards.drill", dashboard_id=dashboard.id, tile_id=tile.id)
    return lambda key: f"{base}?{urlencode({'key': key})}"


def board_link(args):
    return url_for("board.index", **args) if args else None


@bp.get("/dashboards/<int:dashboard_id>/tiles/<int:tile_id>/drill")
@login_required
def drill(dashboard_id, tile_id):
    """The contacts or companies behind one figure: the search result, or a list here.

    Figures that search criteria can express open the Search screen; the
    others (history-based, time in status) are listed here from the same
    `Matches` the tile counted.
    """
    dashboard = visible_dashboard(dashboard_id)
    found = dashboard_tile(dashboard, tile_id)
    ctx = tile_context()
    key = request.args.get("key", "")
    try:
        params = validate_params(found.kind, found.params, ctx)
        rows = tile_drill(found.kind, params, ctx, key)
    except TileParamError as error:
        return render("dashboards/drill.html", status=422, tile=found, key=key, page=None,
                      entity=None, error=rule_message(error), caption="", **helpers(dashboard))
    target = search_url(rows)
    if target:
        return redirect(target)
    page = rows.matches(ctx).page(page_number(), DRILL_PER_PAGE)
    return render("dashboards/drill.html", "results", tile=found, key=key, page=page,
                  entity=rows.entity, error=None, caption=drill_caption(found, params, ctx, key),
                  **helpers(dashboard))


def drill_caption(tile, params, ctx, key):
    """What the listed rows are, for the figures the Search screen cannot show."""
    if tile.kind == "funnel" and key.startswith("stage:"):
        kind, value = stage_object(params["stages"][int(key[6:])], ctx)
        name = (status_name(value) if kind == "status"
                else category_name(value) if kind == "category" else group_label(value))
        if params["days"]:
            return gettext("Companies that reached %(stage)s or a later stage in the last "
                           "%(days)s days", stage=name, days=params["days"])
        return gettext("Companies that reached %(stage)s or a later stage", stage=name)
    if tile.kind == "new_leads" and key == SO_FAR:
        return (gettext("Created last week, up to the same day and time as now")
                if params["period"] == "week"
                else gettext("Created last month, up to the same day and time as now"))
    if tile.kind == "stale":
        return gettext("No change of lead status for %(days)s days or more", days=params["days"])
    if tile.kind == "overdue_reps":
        return gettext("Leads whose next step is overdue")
    if tile.kind == "quiet":
        low = int(key[5:]) if key.startswith("days:") else params["days"]
        high = dict(quiet_buckets(params["days"])).get(low)
        if high:
            return gettext("No activity for %(low)s to %(high)s days", low=low, high=high - 1)
        return gettext("No activity for %(days)s days or more", days=low)
    return ""


def search_url(rows):
    """The Search screen showing exactly `rows`, when search can express them.

    The one place that knows the Search screen's URL (its criteria in the
    query string, as views.search.criteria_args writes them).
    """
    if not rows.searchable:
        return None
    return url_for("search.index", **criteria_args(rows.criteria))


# --- Adding and changing tiles -------------------------------------------------------

@bp.get("/dashboards/<int:dashboard_id>/catalogue")
@login_required
def catalogue(dashboard_id):
    """The kinds of tile that can be added, each with what it shows."""
    dashboard = editable_dashboard(dashboard_id)
    return render("dashboards/catalogue.html", "catalogue", **helpers(dashboard))


@bp.get("/dashboards/<int:dashboard_id>/tiles/new")
@login_required
def new_tile(dashboard_id):
    """The parameters of a new tile, with their defaults."""
    dashboard = editable_dashboard(dashboard_id)
    kind = request.args.get("kind", "")
    if kind not in CATALOGUE:
        abort(404)
    return tile_form(dashboard, None, kind, form_values(kind, {}))


@bp.post("/dashboards/<int:dashboard_id>/tiles")
@login_required
def create_tile(dashboard_id):
    """Add a tile from the catalogue, last on the dashboard."""
    dashboard = editable_dashboard(dashboard_id)
    kind = request.form.get("kind", "")
    if kind not in CATALOGUE:
        abort(404)
    submitted = submitted_params(kind)
    try:
        added = add_tile(dashboard, kind, submitted, tile_context())
    except TileParamError as error:
        return invalid_form(dashboard, None, kind, submitted, error, retarget=True)
    except RuleViolation as error:
        return invalid_form(dashboard, None, kind, submitted, error, retarget=True)
    if not wants_fragment():
        return redirect(url_for("dashboards.show", dashboard_id=dashboard.id), 303)
    return render("dashboards/index.html", ["added_tile", "panel"], tile=added,
                  **helpers(dashboard))


@bp.get("/dashboards/<int:dashboard_id>/tiles/<int:tile_id>/edit")
@login_required
def edit_tile(dashboard_id, tile_id):
    """A tile's parameters in its own box."""
    dashboard = editable_dashboard(dashboard_id)
    found = dashboard_tile(dashboard, tile_id)
    return tile_form(dashboard, found, found.kind, form_values(found.kind, found.stored_params))


@bp.post("/dashboards/<int:dashboard_id>/tiles/<int:tile_id>")
@login_required
def update_tile_params(dashboard_id, tile_id):
    """Save a tile's parameters; refused ones come back with their errors (422)."""
    dashboard = editable_dashboard(dashboard_id)
    found = dashboard_tile(dashboard, tile_id)
    submitted = submitted_params(found.kind)
    try:
        update_tile(found, submitted, tile_context())
    except TileParamError as error:
        return invalid_form(dashboard, found, found.kind, submitted, error)
    if not wants_fragment():
        return redirect(url_for("dashboards.show", dashboard_id=dashboard.id), 303)
    return render_tile(tile_view(dashboard, found, tile_context()))


@bp.post("/dashboards/<int:dashboard_id>/tiles/<int:tile_id>/delete")
@login_required
def delete_tile(dashboard_id, tile_id):
    """Remove a tile (htmx removes its box)."""
    dashboard = editable_dashboard(dashboard_id)
    remove_tile(dashboard_tile(dashboard, tile_id))
    if wants_fragment():
        return ""
    return redirect(url_for("dashboards.show", dashboard_id=dashboard.id), 303)


def submitted_params(kind):
    """The form's values for `kind`'s parameters: lists for lists, text for the rest."""
    values = {}
    for param in CATALOGUE[kind].params:
        if param.type in ("statuses", "stages"):
            values[param.name] = [v for v in request.form.getlist(param.name) if v.strip()]
        else:
            values[param.name] = request.form.get(param.name, "")
    return values


def form_values(kind, stored):
    """What the form shows: the valid parameters, else the stored ones over the defaults."""
    ctx = tile_context()
    try:
        return validate_params(kind, stored, ctx)
    except TileParamError:
        values = {p.name: p.default_for(ctx) for p in CATALOGUE[kind].params}
        values.update({k: v for k, v in stored.items() if v not in (None, "", [])})
        return values


def invalid_form(dashboard, tile, kind, submitted, error, retarget=False):
    errors = getattr(error, "errors", None) or {}
    messages = {name: rule_message(problem) for name, problem in errors.items()}
    general = None if errors else rule_message(error)
    response = tile_form(dashboard, tile, kind, form_values(kind, submitted), messages,
                         general, status=422)
    if retarget and wants_fragment():
        # The form was posted to append a tile to the grid; its errors go
        # back into the panel the form came from.
        response.headers["HX-Retarget"] = "#dashboard-panel"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def tile_form(dashboard, tile, kind, values, errors=None, general=None, status=200):
    ctx = tile_context()
    spec = CATALOGUE[kind]
    choices = {
        "statuses": ctx.status_list(include_retired=True),
        "categories": list(ctx.vocabulary.categories.values()),
        "groups": list(CATEGORY_GROUPS),
        "selections": available_selections(me(), spec.entity),
    }
    return render("dashboards/form.html", "form", status=status, tile=tile, kind=kind,
                  spec=spec, values=values, errors=errors or {}, general=general,
                  choices=choices, max_stages=MAX_STAGES, **helpers(dashboard))
