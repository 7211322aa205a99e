"""Dashboards for managers: tiles that count, list and chart leads.

A dashboard belongs to one user and holds tiles in order; managers (and
admins) can share one with the team, who see it read-only. A tile is a kind
from the CATALOGUE plus parameters kept as JSON. Each kind declares

- its parameters (`validate_params`; a broken one raises TileParamError,
  which the tile shows in its own box instead of its figures),
- `compute(params, ctx)`: the figures, as plain data for the templates,
- `drill(params, ctx, key)`: the contacts or companies behind one bar or
  number, as search criteria plus any condition search cannot express,
- what it depends on, so a live refresh re-renders only the tiles whose
  data changed (`tile_fingerprint`, `tile_unchanged`).

Every count goes through the search query builder (models/search.py): a
figure is the count, or a GROUP BY over the ids query, of the very `Matches`
its drill-down lists, so a tile and its drill-down agree to the row.
"""
import datetime
import functools
import json
import operator
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta

from peewee import (SQL, BooleanField, Case, CharField, DateTimeField, ForeignKeyField,
                    IntegerField, Select, TextField, fn)

from .db import BaseModel, database
from .rules import RuleViolation
from .schema import (CATEGORY_GROUPS, N_, POTENTIAL, CategorySuggestion, Company, Contact,
                     History, User, now)
from .search import ME, Criteria, Criterion, Matches, Vocabulary, criteria_conditions
from .tally import daily_counts, tally_counts
from .values import as_int, clean_name, has_control_character

MANAGER_ROLES = ("manager", "admin")
TEAM_ROLES = ("rep", "manager")
MAX_NAME = 80
MAX_TILES = 40


class Dashboard(BaseModel):
    owner = ForeignKeyField(User, backref="dashboards", on_delete="CASCADE")
    name = CharField()
    shared = BooleanField(default=False)
    position = IntegerField(default=0)
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("owner", "position"), False),)


class Tile(BaseModel):
    dashboard = ForeignKeyField(Dashboard, backref="tiles", on_delete="CASCADE")
    kind = CharField()
    params = TextField(default="{}")
    position = IntegerField(default=0)

    class Meta:
        indexes = ((("dashboard", "position"), False),)

    @property
    def stored_params(self):
        """The parameters as stored; junk reads as {} and is reported by validate_params."""
        try:
            value = json.loads(self.params or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class TileParamError(RuleViolation):
    """A tile parameter that cannot be used; `errors` maps parameter names to messages."""

    def __init__(self, message, param=None, errors=None, **params):
        super().__init__(message, **params)
        self.param = param
        self.errors = errors if errors is not None else ({param: self} if param else {})


# --- Who may see and change a dashboard -----------------------------------------

def can_share(user):
    """Managers and admins share dashboards with the team; reps keep theirs to themselves."""
    return user.role in MANAGER_ROLES


def can_view(dashboard, user):
    return dashboard.owner_id == user.id or dashboard.shared


def can_edit(dashboard, user):
    """The owner edits a dashboard; a shared (team) one also by managers and admins.

    A rep sees a team dashboard read-only.
    """
    return dashboard.owner_id == user.id or (dashboard.shared and can_share(user))


def visible_dashboards(user):
    """The user's own dashboards in their order, then the ones shared by others."""
    return list(Dashboard
                .select(Dashboard, User)
                .join(User, on=(Dashboard.owner == User.id))
                .where((Dashboard.owner == user.id) | (Dashboard.shared == True))  # noqa: E712
                .order_by(Dashboard.owner != user.id, User.name, Dashboard.position,
                          Dashboard.id))


def dashboard_tiles(dashboard):
    return list(Tile.select().where(Tile.dashboard == dashboard)
                .order_by(Tile.position, Tile.id))


# --- Changing dashboards ------------------------------------------------------------

def _clean_name(name):
    return clean_name(name, MAX_NAME, missing=N_("A dashboard needs a name."),
                      too_long=N_("Use at most %(max)s characters for the name."))


def create_dashboard(user, name, tiles=()):
    """A new dashboard of `user`, last in their order, with `tiles` as (kind, params)."""
    name = _clean_name(name)
    ctx = TileContext(user)
    checked = [(kind, validate_params(kind, params, ctx)) for kind, params in tiles]
    with database.atomic():
        last = (Dashboard.select(fn.MAX(Dashboard.position))
                .where(Dashboard.owner == user.id).scalar())
        dashboard = Dashboard.create(owner=user.id, name=name,
                                     position=0 if last is None else last + 1)
        for position, (kind, params) in enumerate(checked):
            Tile.create(dashboard=dashboard, kind=kind, position=position,
                        params=_dump(_explicit(params, tiles[position][1])))
    return dashboard


def ensure_default_dashboard(user, name):
    """The user's first dashboard, made with the default tiles on their first visit."""
    first = (Dashboard.select().where(Dashboard.owner == user.id)
             .order_by(Dashboard.position, Dashboard.id).first())
    if first is not None:
        return first
    return create_dashboard(user, name, default_tiles(user))


def default_tiles(user):
    """The tiles every new dashboard starts with: a manager sees everyone, a rep their own."""
    scope = "all" if can_share(user) else "me"
    return [
        ("status_counts", {"scope": scope}),
        ("category_counts", {"scope": scope}),
        ("new_leads", {"scope": scope}),
        ("funnel", {"scope": scope}),
        ("median_days", {"scope": scope}),
        ("utm", {"scope": scope}),
        ("stale", {"scope": scope}),
        ("suggestions", {"scope": scope}),
        ("rep_status", {"scope": "team" if scope == "all" else "me"}),
    ]


def update_dashboard(dashboard, user, name, shared):
    """Rename a dashboard and share or unshare it; only managers and admins may share."""
    dashboard.name = _clean_name(name)
    if shared and not can_share(user):
        raise RuleViolation(N_("Only managers can share a dashboard with the team."))
    dashboard.shared = bool(shared)
    dashboard.save()
    return dashboard


def delete_dashboard(dashboard):
    with database.atomic():
        Tile.delete().where(Tile.dashboard == dashboard).execute()
        dashboard.delete_instance()


def add_tile(dashboard, kind, params, ctx):
    """Validate `params` for `kind` and put the tile last on the dashboard."""
    values = validate_params(kind, params, ctx)
    with database.atomic():
        count, last = (Tile.select(fn.COUNT(Tile.id), fn.MAX(Tile.position))
                       .where(Tile.dashboard == dashboard).tuples().get())
        if count >= MAX_TILES:
            raise RuleViolation(N_("A dashboard holds at most %(max)s tiles."), max=MAX_TILES)
        return Tile.create(dashboard=dashboard, kind=kind, params=_dump(values),
                           position=0 if last is None else last + 1)


def update_tile(tile, params, ctx):
    """Store new parameters after validating them; a refused change stores nothing."""
    tile.params = _dump(validate_params(tile.kind, params, ctx))
    tile.save()
    return tile


def remove_tile(tile):
    tile.delete_instance()


def reorder_tiles(dashboard, ids):
    """Put the dashboard's tiles in the order of `ids`; ids of other dashboards are ignored."""
    own = {t.id for t in Tile.select(Tile.id).where(Tile.dashboard == dashboard)}
    wanted = [i for i in dict.fromkeys(ids) if i in own]
    rest = [i for i in sorted(own) if i not in wanted]
    with database.atomic():
        for position, tile_id in enumerate(wanted + rest):
            Tile.update(position=position).where(Tile.id == tile_id).execute()


def _dump(params):
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _explicit(values, given):
    """Of validated `values`, the ones given: defaults that depend on the lists stay dynamic."""
    return {name: value for name, value in values.items() if name in (given or {})}


# --- The context a tile is computed in -----------------------------------------------

class TileContext:
    """Who looks and when: "me" is `user` and periods end `today`.

    The lists (statuses, categories, users) are read once per context, so
    a tile costs the same few queries however many bars it draws.
    """

    def __init__(self, user, today=None, vocabulary=None, now=None):
        self.user = user
        self.today = today or date.today()
        self.vocabulary = vocabulary or Vocabulary()
        # The moment "so far" ends: now, or the end of a pinned `today`.
        self.now = now or (datetime.datetime.now() if today is None
                           else self.midnight(self.today + timedelta(days=1)))

    @functools.cached_property
    def active_category_ids(self):
        """R8: the categories where lead status is active: the board's leads."""
        return [c.id for c in self.vocabulary.categories.values() if c.lead_status_active]

    @functools.cached_property
    def team_ids(self):
        """The sales team: active reps and managers."""
        return [u.id for u in self.vocabulary.users.values()
                if u.active and u.role in TEAM_ROLES]

    def status_list(self, include_retired=False):
        return [s for s in self.vocabulary.statuses.values() if include_retired or not s.retired]

    def midnight(self, day):
        return datetime.datetime.combine(day, datetime.time())


# --- Parameters --------------------------------------------------------------------------

SCOPES = (("me", N_("My leads")), ("team", N_("My team's leads")), ("all", N_("Everyone's")))
POPULATIONS = (
    ("active", N_("Leads (lead status active)")),
    ("potential", N_("Contacts at Potential customer companies")),
    ("all", N_("All contacts")),
)
DAYS = ((7, N_("Last 7 days")), (30, N_("Last 30 days")), (90, N_("Last 90 days")),
        (180, N_("Last 180 days")), (365, N_("Last 365 days")), (0, N_("All time")))
PERIODS = (("week", N_("This week vs last week")), ("month", N_("This month vs last month")))
GROUPS = tuple(CATEGORY_GROUPS.items())


@dataclass(frozen=True)
class Param:
    """One parameter of a tile kind.

    Types: "choice" (one of `choices`), "days" (a number of days from
    `choices`), "number" (a whole number from `minimum` to `maximum`),
    "statuses" (lead status ids), "stages" (funnel stages such as
    "category:2", "status:3", "group:customer"), "source" ("all" or a saved
    selection id) and "text". `default` may be a function of the context.
    """
    name: str
    label: str
    type: str
    default: object = None
    choices: tuple = ()
    minimum: int = 0
    maximum: int = 0
    hint: str = ""

    def default_for(self, ctx):
        return self.default(ctx) if callable(self.default) else self.default


TITLE = Param("title", N_("Title"), "text", "", hint=N_("Leave empty for the default title."))
SCOPE = Param("scope", N_("Whose"), "choice", "all", SCOPES)
POPULATION = Param("population", N_("Which contacts"), "choice", "active", POPULATIONS)
SOURCE = Param("source", N_("Source"), "source", "all")
MAX_STAGES = 6
MAX_STATUSES = 50


def _default_stale_statuses(ctx):
    """The initial status and the first working one: Open and Contacting by default."""
    return [s.id for s in ctx.status_list()[:2]]


def default_stages(ctx):
    """Lead → MQL → Qualified → Opportunity → Customer, found in the current lists.

    The two first lead-status categories (Lead, MQL), the third status in
    list order (Qualified in R5's order), the first Potential customer
    category without lead status (Opportunity) and the Customer group.
    """
    categories = [c for c in ctx.vocabulary.categories.values() if not c.retired]
    stages = [f"category:{c.id}" for c in categories if c.lead_status_active][:2]
    statuses = ctx.status_list()
    if len(statuses) > 2:
        stages.append(f"status:{statuses[2].id}")
    later = [c for c in categories if c.group == POTENTIAL and not c.lead_status_enabled]
    if later:
        stages.append(f"category:{later[0].id}")
    stages.append("group:customer")
    return stages


def validate_params(kind, raw, ctx):
    """Stored or submitted parameters of a `kind` tile, checked and with defaults filled.

    `raw` is a dict (or its JSON) of values as stored, or as strings and
    lists from a form. Raises TileParamError naming every broken parameter.
    """
    spec = CATALOGUE.get(kind)
    if spec is None:
        raise TileParamError(N_("Unknown kind of tile: %(kind)s."), kind=str(kind)[:40])
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        raise TileParamError(N_("The tile's settings could not be read."))
    values, errors = {}, {}
    for param in spec.params:
        value = raw.get(param.name)
        if value is None or value == "" or value == []:
            values[param.name] = param.default_for(ctx)
            continue
        try:
            values[param.name] = _parse_param(param, value, ctx, spec)
        except TileParamError as error:
            errors[param.name] = error
    if errors:
        first = next(iter(errors.values()))
        raise TileParamError(first.message, param=first.param, errors=errors, **first.params)
    return values


def _parse_param(param, value, ctx, spec):
    name, kind = param.name, param.type
    if kind == "text":
        if not isinstance(value, str) or len(value.strip()) > MAX_NAME:
            raise TileParamError(N_("Use at most %(max)s characters for the title."), name,
                                 max=MAX_NAME)
        if has_control_character(value):
            raise TileParamError(N_("This text contains characters that are not allowed."),
                                 name)
        return value.strip()
    if kind == "choice":
        if value not in [code for code, _ in param.choices]:
            raise TileParamError(N_("Unknown choice for %(setting)s: %(value)s."), name,
                                 setting=param.label, value=str(value)[:40])
        return value
    if kind in ("days", "number"):
        number = as_int(value)
        allowed = [days for days, _ in param.choices] if kind == "days" else None
        if number is None or (allowed is not None and number not in allowed) or (
                allowed is None and not param.minimum <= number <= param.maximum):
            if allowed is not None:
                raise TileParamError(N_("Unknown choice for %(setting)s: %(value)s."), name,
                                     setting=param.label, value=str(value)[:40])
            raise TileParamError(N_("%(setting)s must be a whole number from %(min)s to "
                                    "%(max)s."), name, setting=param.label,
                                 min=param.minimum, max=param.maximum)
        return number
    if kind == "statuses":
        ids = _int_list(value, MAX_STATUSES, param)
        for status_id in ids:
            if status_id not in ctx.vocabulary.statuses:
                raise TileParamError(N_("Unknown lead status: %(value)s."), name,
                                     value=status_id)
        return ids
    if kind == "stages":
        return _parse_stages(value, ctx, param)
    if kind == "source":
        if value == "all":
            return "all"
        selection_id = as_int(value)
        if selection_id is None:
            raise TileParamError(N_("Unknown saved selection: %(value)s."), name,
                                 value=str(value)[:40])
        resolve_selection(selection_id, spec.entity, ctx)  # raises when unusable
        return selection_id
    raise TileParamError(N_("The tile's settings could not be read."), name)


def _int_list(value, most, param):
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = str(value).split(",") if isinstance(value, str) else [value]
    if not isinstance(value, list) or len(value) > most:
        raise TileParamError(N_("The tile's settings could not be read."), param.name)
    numbers = []
    for item in value:
        number = as_int(item.strip() if isinstance(item, str) else item)
        if number is None:
            raise TileParamError(N_("Unknown lead status: %(value)s."), param.name,
                                 value=str(item)[:40])
        numbers.append(number)
    return list(dict.fromkeys(numbers))


def _parse_stages(value, ctx, param):
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise TileParamError(N_("The tile's settings could not be read."), param.name)
    stages = [s.strip() for s in value if isinstance(s, str) and s.strip()]
    if len(stages) != len(value) or not 2 <= len(stages) <= MAX_STAGES:
        raise TileParamError(N_("A funnel needs from 2 to %(max)s stages."), param.name,
                             max=MAX_STAGES)
    if len(set(stages)) != len(stages):
        raise TileParamError(N_("Each funnel stage can be used once."), param.name)
    for stage in stages:
        stage_object(stage, ctx, param.name)
    return stages


def stage_object(stage, ctx, param="stages"):
    """("category" | "status" | "group", the category, status or group code) of a stage."""
    kind, _, ref = stage.partition(":")
    if kind == "group" and ref in CATEGORY_GROUPS:
        return kind, ref
    number = as_int(ref)
    if kind == "category" and number in ctx.vocabulary.categories:
        return kind, ctx.vocabulary.categories[number]
    if kind == "status" and number in ctx.vocabulary.statuses:
        return kind, ctx.vocabulary.statuses[number]
    raise TileParamError(N_("Unknown funnel stage: %(value)s."), param, value=stage[:40])


# --- A tile's source: all contacts (or companies), or a saved selection ------------

def resolve_selection(selection_id, entity, ctx):
    """The saved selection `selection_id` as the conditions of a tile's source.

    Returns (Criteria or None, extra conditions): a dynamic selection gives
    its criteria (so the Search screen can run them again), a static one
    the condition "is one of its members". This is the one place that
    knows the selections API (models/selections.py).
    """
    try:
        from . import selections
    except ImportError:
        raise TileParamError(N_("Saved selections are not available yet."), "source") from None
    selection = selections.visible_selection(selection_id, ctx.user) if ctx.user else None
    if selection is None:
        raise TileParamError(N_("Unknown saved selection: %(value)s."), "source",
                             value=selection_id)
    if selection.entity != entity:
        raise TileParamError(N_("The selection %(name)s does not list %(entity)s."), "source",
                             name=selection.name, entity=entity)
    if selection.is_static:
        matches = selections.selection_matches(selection, ctx.user, ctx.today)
        return None, tuple(matches.conditions)
    try:
        return selection.parsed_criteria(ctx.vocabulary), ()
    except RuleViolation as error:
        raise TileParamError(N_("The selection %(name)s cannot be run: %(problem)s"), "source",
                             name=selection.name, problem=str(error)) from None


def available_selections(user, entity):
    """[(id, name)] of the saved selections `user` may use as a tile source."""
    try:
        from . import selections
    except ImportError:
        return []
    return [(s.id, s.name) for s in selections.visible_selections(user, entity)]


# --- What a tile counts ------------------------------------------------------------------

@dataclass(frozen=True)
class Drill:
    """The rows behind a figure: search criteria plus conditions search cannot express."""
    entity: str
    criteria: Criteria
    extra: tuple = ()
    selection_id: int | None = None

    @property
    def searchable(self):
        """True when the search screen can show exactly these rows from the criteria alone."""
        return not self.extra

    def matches(self, ctx):
        conditions = criteria_conditions(self.criteria, ctx.user, ctx.today)
        return Matches(self.entity, conditions + list(self.extra))


@dataclass(frozen=True)
class Base:
    """The rows a tile starts from: its population, owner scope and source."""
    entity: str
    items: tuple = ()
    extra: tuple = ()
    selection_id: int | None = None

    def drill(self, *more, extra=()):
        return Drill(self.entity, Criteria(self.entity, self.items + tuple(more)),
                     self.extra + tuple(extra), self.selection_id)

    def matches(self, ctx, *more, extra=()):
        return self.drill(*more, extra=extra).matches(ctx)


def base_for(entity, params, ctx):
    """Population, owner scope and source of `params` as criteria and conditions."""
    items = []
    population = params.get("population")
    if entity == "contacts" and population == "active":
        items.append(Criterion("category", "in", ctx.active_category_ids))
    elif entity == "contacts" and population == "potential":
        items.append(Criterion("category_group", "in", [POTENTIAL]))
    scope = params.get("scope")
    if scope == "me":
        items.append(Criterion("owner", "in", [ME]))
    elif scope == "team":
        items.append(Criterion("owner", "in", ctx.team_ids))
    extra, selection_id = (), None
    source = params.get("source", "all")
    if source not in (None, "all"):
        criteria, conditions = resolve_selection(source, entity, ctx)
        items = list(criteria.items if criteria else ()) + items
        extra, selection_id = tuple(conditions), source
    return Base(entity, tuple(items), extra, selection_id)


def _tally_scope(base, ctx):
    """(owner ids or None, category ids or None) when `base` narrows contacts by owner
    and category only, so the counter rows can answer; None otherwise."""
    if base.entity != "contacts" or base.extra or base.selection_id is not None:
        return None
    owner_ids = category_ids = None
    for item in base.items:
        if item.op != "in":
            return None
        if item.field == "owner":
            ids = [ctx.user.id if value == ME else value for value in item.value]
            owner_ids = ids if owner_ids is None else [i for i in owner_ids if i in ids]
            continue
        if item.field == "category":
            ids = list(item.value)
        elif item.field == "category_group":
            ids = [c.id for c in ctx.vocabulary.categories.values() if c.group in item.value]
        else:
            return None
        category_ids = ids if category_ids is None else [i for i in category_ids if i in ids]
    return owner_ids, category_ids


def _counts(base, ctx, *by):
    """{key: count} of `base`'s contacts grouped by "owner" and/or "status": from the
    counter rows when they can answer, else one GROUP BY of the matching contacts."""
    scope = _tally_scope(base, ctx)
    if scope is not None:
        return tally_counts(by if len(by) > 1 else by[0], *scope)
    columns = {"owner": Contact.owner, "status": Contact.lead_status}
    return _grouped(base.matches(ctx), *(columns[name] for name in by))


def _grouped(matches, *columns):
    """{group key: count} of `matches`, grouped by `columns` in one query."""
    model = matches.model
    rows = (matches.ids().select(*columns, fn.COUNT(model.id))
            .group_by(*columns).tuples())
    if len(columns) == 1:
        return {row[0]: row[1] for row in rows}
    return {row[:-1]: row[-1] for row in rows}


@dataclass
class Bar:
    """One bar or number of a tile: its drill key, count and what it stands for."""
    key: str
    count: int
    label: str = ""
    status: object = None
    category: object = None
    group: str = ""
    user: object = None
    colour: str = ""


def _key_value(key, prefix):
    """The value after "prefix:" in a drill key, or None."""
    if not isinstance(key, str) or not key.startswith(prefix + ":"):
        return None
    return key[len(prefix) + 1:]


def _key_int(key, prefix):
    return as_int(_key_value(key, prefix) or "")


def _bad_key():
    return TileParamError(N_("That part of the tile does not exist any more."))


# Leads by lead status ----------------------------------------------------------------

def compute_status_counts(params, ctx):
    counts = _counts(base_for("contacts", params, ctx), ctx, "status")
    chosen = params["statuses"] or [s.id for s in ctx.status_list()]
    bars = [Bar(f"status:{s.id}", counts.get(s.id, 0), status=s,
                colour=f"status-fill-{s.sort_order % 6}")
            for s in ctx.status_list(include_retired=True)
            if s.id in chosen and (not s.retired or counts.get(s.id))]
    return {"bars": bars, "total": sum(b.count for b in bars),
            "board": _board_args(params)}


def drill_status_counts(params, ctx, key):
    base = base_for("contacts", params, ctx)
    status_id = _key_int(key, "status")
    if status_id is not None:
        return base.drill(Criterion("lead_status", "in", [status_id]))
    if key == "total":
        chosen = params["statuses"] or [s.id for s in ctx.status_list()]
        shown = [s.id for s in ctx.status_list(include_retired=True) if s.id in chosen]
        return base.drill(Criterion("lead_status", "in", shown))
    raise _bad_key()


def _board_args(params):
    """The lead board showing the same leads, when there is one (R8 leads of me or everyone)."""
    if params.get("population") != "active" or params.get("source", "all") != "all":
        return None
    if params.get("scope") in ("me", "all"):
        return {"owner": params["scope"]}
    return None


# Companies by category -------------------------------------------------------------

def compute_category_counts(params, ctx):
    group = params["group"]
    base = base_for("companies", params, ctx)
    counts = _grouped(base.matches(ctx, Criterion("category_group", "in", [group])),
                      Company.category)
    bars = [Bar(f"category:{c.id}", counts.get(c.id, 0), category=c,
                colour=f"status-fill-{c.sort_order % 6}")
            for c in ctx.vocabulary.categories.values()
            if c.group == group and (not c.retired or counts.get(c.id))]
    return {"bars": bars, "total": sum(b.count for b in bars), "group": group}


def drill_category_counts(params, ctx, key):
    base = base_for("companies", params, ctx)
    category_id = _key_int(key, "category")
    if category_id is not None:
        return base.drill(Criterion("category", "in", [category_id]))
    if key == "total":
        return base.drill(Criterion("category_group", "in", [params["group"]]))
    raise _bad_key()


# Companies by category group ------------------------------------------------------------

def compute_group_counts(params, ctx):
    base = base_for("companies", params, ctx)
    by_category = _grouped(base.matches(ctx), Company.category)
    totals = dict.fromkeys(CATEGORY_GROUPS, 0)
    for category_id, count in by_category.items():
        category = ctx.vocabulary.categories.get(category_id)
        if category is not None and category.group in totals:
            totals[category.group] += count
    bars = [Bar(f"group:{code}", count, group=code, colour=f"status-fill-{index % 6}")
            for index, (code, count) in enumerate(totals.items())]
    return {"bars": bars, "total": sum(b.count for b in bars)}


def drill_group_counts(params, ctx, key):
    base = base_for("companies", params, ctx)
    code = _key_value(key, "group")
    if code in CATEGORY_GROUPS:
        return base.drill(Criterion("category_group", "in", [code]))
    if key == "total":
        return base.drill()
    raise _bad_key()


# New leads this week vs last week ----------------------------------------------------

SPARK_WEEKS = 8
SPARK_MONTHS = 6


def periods(period, today, count):
    """[(first day, last day)] of the current period and the `count - 1` before, newest first."""
    result = []
    if period == "month":
        start = today.replace(day=1)
        for _ in range(count):
            following = (start + timedelta(days=32)).replace(day=1)
            result.append((start, following - timedelta(days=1)))
            start = (start - timedelta(days=1)).replace(day=1)
        return result
    start = today - timedelta(days=today.weekday())  # Monday
    for _ in range(count):
        result.append((start, start + timedelta(days=6)))
        start -= timedelta(days=7)
    return result


def _created_between(first, last):
    return Criterion("created", "between", {"from": first.isoformat(), "to": last.isoformat()})


def compute_new_leads(params, ctx):
    base = base_for("contacts", params, ctx)
    spans = periods(params["period"], ctx.today,
                    SPARK_MONTHS if params["period"] == "month" else SPARK_WEEKS)
    # One pass over the oldest period onwards, counted per day (comparing
    # every row with each period's limits costs more than grouping it), the
    # days then summed into periods here. A day lies in exactly one period,
    # so a period's count is the number of rows its drill-down searches for:
    # created between its first and last day.
    scope = _tally_scope(base, ctx)
    if scope is not None:  # the daily counter rows can answer
        per_day = daily_counts(spans[-1][0], spans[0][1], *scope)
    else:
        whole = base.matches(ctx, _created_between(spans[-1][0], spans[0][1]))
        day = fn.DATE(Contact.created_at).coerce(False)  # text in SQLite, date in PostgreSQL
        per_day = whole.ids().select(day, fn.COUNT(Contact.id)).group_by(day).tuples()
    counts = [0] * len(spans)
    for created, count in per_day:
        if isinstance(created, datetime.datetime):
            created = created.date()
        elif not isinstance(created, date):
            created = date.fromisoformat(str(created)[:10])
        for index, (first, last) in enumerate(spans):
            if first <= created <= last:
                counts[index] += count
                break
    bars = [Bar(f"period:{index}", count, label=first.isoformat())
            for index, ((first, last), count) in enumerate(zip(spans, counts))]
    # The current period so far is compared with the same part of the one before
    # (a Monday morning with last week's Monday morning, not with all of last week).
    so_far = Bar(SO_FAR, _so_far_drill(params, ctx).matches(ctx).count())
    current, previous = bars[0].count, so_far.count
    return {"current": bars[0], "previous": bars[1], "so_far": so_far,
            "spark": list(reversed(bars)),
            "spans": list(reversed(spans)), "period": params["period"],
            "change": current - previous,
            "change_percent": round(100 * (current - previous) / previous) if previous else None}


SO_FAR = "previous_so_far"


def _so_far_cutoff(params, ctx):
    """The previous period up to the moment that is as far into it as now is into this one."""
    (start, _), (previous_start, previous_last) = periods(params["period"], ctx.today, 2)
    elapsed = ctx.now - ctx.midnight(start)
    return min(ctx.midnight(previous_start) + elapsed,
               ctx.midnight(previous_last + timedelta(days=1)))


def _so_far_drill(params, ctx):
    """The contacts created in the previous period before _so_far_cutoff."""
    first, last = periods(params["period"], ctx.today, 2)[1]
    return base_for("contacts", params, ctx).drill(
        _created_between(first, last), extra=(Contact.created_at < _so_far_cutoff(params, ctx),))


def drill_new_leads(params, ctx, key):
    if key == SO_FAR:
        return _so_far_drill(params, ctx)
    index = _key_int(key, "period")
    count = SPARK_MONTHS if params["period"] == "month" else SPARK_WEEKS
    if index is None or index >= count:
        raise _bad_key()
    first, last = periods(params["period"], ctx.today, count)[index]
    return base_for("contacts", params, ctx).drill(_created_between(first, last))


# The lead qualification funnel --------------------------------------------------------

def _stage_condition(stage, ctx):
    """The history rows that show a company reaching `stage`."""
    kind, value = stage_object(stage, ctx)
    if kind == "status":
        return (History.kind == History.LEAD_STATUS) & (History.to_status == value.id)
    if kind == "category":
        return (History.kind == History.CATEGORY) & (History.to_category == value.id)
    ids = [c.id for c in ctx.vocabulary.categories.values() if c.group == value]
    return (History.kind == History.CATEGORY) & History.to_category.in_(ids)


def _live_history():
    """R27: history of live records only: a deleted company leaves the funnel, and so does
    what a deleted contact did (the few deleted ids, by their partial indexes)."""
    return (History.company.not_in(Company.deleted(Company.id))
            & (History.contact.is_null() | History.contact.not_in(Contact.deleted(Contact.id))))


def _funnel_window(params, ctx):
    if not params["days"]:
        return None
    return History.created_at >= ctx.midnight(ctx.today - timedelta(days=params["days"] - 1))


def _owner_conditions(params, ctx, entity):
    """The owner scope of `params` as conditions on Company (or Contact)."""
    items = base_for(entity, {"scope": params.get("scope")}, ctx).items
    return criteria_conditions(Criteria(entity, items), ctx.user, ctx.today)


def compute_funnel(params, ctx):
    """Companies reaching each stage in the period, from the history (R20).

    A company counts at a stage when the history shows it reaching that
    stage or any later one (a lead can skip MQL), so the figures never grow
    down the funnel. One query: per company the furthest stage reached,
    then the number of companies per furthest stage.
    """
    stages = params["stages"]
    window = _funnel_window(params, ctx)
    owner = _owner_conditions(params, ctx, "companies")
    parts = []
    for index, stage in enumerate(stages):
        part = (History.select(History.company.alias("company_id"), SQL(str(index)).alias("stage"))
                .where(_stage_condition(stage, ctx), _live_history()))
        if window is not None:
            part = part.where(window)
        if owner:
            part = part.join(Company, on=(History.company == Company.id)).where(*owner)
        parts.append(part)
    reached = functools.reduce(operator.add, parts).alias("reached_stages")  # UNION ALL
    furthest = (Select([reached], [reached.c.company_id,
                                   fn.MAX(reached.c.stage).alias("furthest")])
                .group_by(reached.c.company_id).alias("furthest_stages"))
    rows = (Select([furthest], [furthest.c.furthest, fn.COUNT(SQL("*"))])
            .group_by(furthest.c.furthest).bind(database).tuples())
    at_most = dict.fromkeys(range(len(stages)), 0)
    for index, count in rows:
        at_most[int(index)] = count
    result, running = [], 0
    for index in reversed(range(len(stages))):
        running += at_most[index]
        kind, value = stage_object(stages[index], ctx)
        colour = ("group-fill" if kind == "group"
                  else f"status-fill-{value.sort_order % 6}")
        result.append({"key": f"stage:{index}", "count": running, "kind": kind, "value": value,
                       "colour": colour})
    result.reverse()
    first = result[0]["count"] if result else 0
    for index, stage in enumerate(result):
        before = result[index - 1]["count"] if index else None
        stage["of_first"] = round(100 * stage["count"] / first) if first else None
        stage["of_previous"] = round(100 * stage["count"] / before) if before else None
    return {"stages": result, "days": params["days"]}


def drill_funnel(params, ctx, key):
    index = _key_int(key, "stage")
    stages = params["stages"]
    if index is None or index >= len(stages):
        raise _bad_key()
    condition = functools.reduce(operator.or_, [_stage_condition(s, ctx) for s in stages[index:]])
    reached = History.select(History.company).where(condition, _live_history())
    window = _funnel_window(params, ctx)
    if window is not None:
        reached = reached.where(window)
    return base_for("companies", params, ctx).drill(extra=(Company.id.in_(reached),))


# Median days in each status --------------------------------------------------------

MAX_STAYS = 500


def compute_median_days(params, ctx):
    """Per status, the median length of the latest completed stays, from the history.

    A stay ends with a history row leaving the status (from_status) in the
    period and began with the contact's previous lead status row. The
    latest MAX_STAYS stays per status are read, newest first, through the
    (from_status, created_at) index, so the tile costs the same at any size.
    """
    chosen = params["statuses"] or [s.id for s in ctx.status_list()]
    statuses = [s for s in ctx.status_list(include_retired=True) if s.id in chosen]
    owner = _owner_conditions(params, ctx, "contacts")
    start = (ctx.midnight(ctx.today - timedelta(days=params["days"] - 1))
             if params["days"] else None)
    Before = History.alias()
    entered = (Before.select(Before.created_at)
               .where(Before.contact == History.contact,
                      Before.kind == History.LEAD_STATUS,
                      (Before.created_at < History.created_at)
                      | ((Before.created_at == History.created_at) & (Before.id < History.id)))
               .order_by(Before.created_at.desc(), Before.id.desc())
               .limit(1))
    rows = []
    for status in statuses:
        # Only lead status rows have a from_status: the index alone answers.
        stays = (History.select(History.created_at, entered.alias("entered"))
                 .where(History.from_status == status.id,
                        History.contact.not_in(Contact.deleted(Contact.id))))
        if start is not None:
            stays = stays.where(History.created_at >= start)
        if owner:
            # An IN list of the owner's contact ids, probed per history row,
            # is cheaper than reading each contact row.
            stays = stays.where(History.contact.in_(Contact.select(Contact.id).where(*owner)))
        stays = stays.order_by(History.created_at.desc()).limit(MAX_STAYS)
        days = [(_as_datetime(left) - _as_datetime(came)).total_seconds() / 86400
                for left, came in stays.tuples() if came is not None]
        rows.append({"status": status, "stays": len(days),
                     "median": round(statistics.median(days), 1) if days else None,
                     "colour": f"status-fill-{status.sort_order % 6}"})
    return {"rows": rows, "days": params["days"], "most": MAX_STAYS,
            "board": {"owner": "me" if params.get("scope") == "me" else "all",
                      "sort": "days"}}


def _as_datetime(value):
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value))


def drill_median_days(params, ctx, key):
    """The contacts now in a status: where the next stays come from."""
    status_id = _key_int(key, "status")
    if status_id is None:
        raise _bad_key()
    base = base_for("contacts", {"scope": params.get("scope")}, ctx)
    return base.drill(Criterion("lead_status", "in", [status_id]))


# Leads by UTM source and campaign -----------------------------------------------------

def _created_window(params, ctx):
    if not params.get("days"):
        return ()
    return (Criterion("created", "last_days", params["days"]),)


def compute_utm(params, ctx):
    base = base_for("contacts", params, ctx)
    pairs = _grouped(base.matches(ctx, *_created_window(params, ctx)),
                     Contact.utm_source, Contact.utm_campaign)
    sources, campaigns = {}, {}
    for (source, campaign), count in pairs.items():
        sources[source or ""] = sources.get(source or "", 0) + count
        campaigns[campaign or ""] = campaigns.get(campaign or "", 0) + count
    top = params["top"]
    return {"sources": _top_bars("source", sources, top),
            "campaigns": _top_bars("campaign", campaigns, top),
            "total": sum(sources.values()), "days": params["days"]}


def _top_bars(prefix, counts, top):
    """The `top` biggest values as bars, biggest first; the rest summed as "others"."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    bars = [Bar(f"{prefix}:{value}", count, label=value, colour=f"status-fill-{index % 6}")
            for index, (value, count) in enumerate(ranked[:top])]
    rest = sum(count for _, count in ranked[top:])
    return {"bars": bars, "others": rest}


def drill_utm(params, ctx, key):
    base = base_for("contacts", params, ctx)
    window = _created_window(params, ctx)
    for prefix, name in (("source", "utm_source"), ("campaign", "utm_campaign")):
        value = _key_value(key, prefix)
        if value is not None:
            criterion = Criterion(name, "eq", value) if value else Criterion(name, "empty")
            return base.drill(*window, criterion)
    if key == "total":
        return base.drill(*window)
    raise _bad_key()


# Stale leads --------------------------------------------------------------------------

def _stale_drill(params, ctx):
    # "No change for N days" as the board counts days in status: the status
    # changed on a day at least N days before today.
    cutoff = ctx.midnight(ctx.today - timedelta(days=params["days"] - 1))
    return base_for("contacts", params, ctx).drill(
        Criterion("lead_status", "in", params["statuses"]),
        extra=(Contact.status_changed_at < cutoff,))


def compute_stale(params, ctx):
    matches = _stale_drill(params, ctx).matches(ctx)
    total = matches.count()
    # The oldest of each status read in (status, time in status) index
    # order, so each stops after `limit` rows; then the oldest of those.
    limit = params["limit"]
    oldest = functools.reduce(operator.add, [
        matches.ids().where(Contact.lead_status == status_id)
        .order_by(Contact.status_changed_at, Contact.id).limit(limit)
        for status_id in params["statuses"]])
    rows = list(Contact
                .select(Contact.id, Contact.first_name, Contact.last_name, Contact.lead_status,
                        Contact.status_changed_at, Contact.owner, Contact.company,
                        Company.id, Company.name)
                .join(Company)
                .where(Contact.id.in_(oldest))
                .order_by(Contact.status_changed_at, Contact.id)
                .limit(limit))
    items = [{"contact": c, "company": c.company,
              "status": ctx.vocabulary.statuses.get(c.lead_status_id),
              "owner": ctx.vocabulary.users.get(c.owner_id),
              "days": (ctx.today - c.status_changed_at.date()).days}
             for c in rows]
    statuses = [ctx.vocabulary.statuses[s] for s in params["statuses"]]
    return {"total": total, "rows": items, "days": params["days"], "statuses": statuses}


def drill_stale(params, ctx, key):
    if key != "total":
        raise _bad_key()
    return _stale_drill(params, ctx)


# Pending category suggestions (R17) ----------------------------------------------------

SUGGESTIONS_LISTED = 8


def compute_suggestions(params, ctx):
    matches = drill_suggestions(params, ctx, "total").matches(ctx)
    owner = _owner_conditions(params, ctx, "companies")
    latest = (CategorySuggestion
              .select(CategorySuggestion, Company.id, Company.name)
              .join(Company)
              .where(CategorySuggestion.state == CategorySuggestion.PENDING,
                     Company.deleted_at.is_null(), *owner)
              .order_by(CategorySuggestion.created_at.desc(), CategorySuggestion.id.desc())
              .limit(SUGGESTIONS_LISTED))
    categories = ctx.vocabulary.categories
    items = [{"company": s.company, "created_at": s.created_at, "source_label": s.source_label,
              "from": categories.get(s.from_category_id),
              "to": categories.get(s.proposed_category_id)} for s in latest]
    return {"total": matches.count(), "rows": items}


def drill_suggestions(params, ctx, key):
    if key != "total":
        raise _bad_key()
    return base_for("companies", params, ctx).drill(Criterion("pending_suggestion", "is", True))


# Leads per rep by status -------------------------------------------------------------

def compute_rep_status(params, ctx):
    counts = _counts(base_for("contacts", params, ctx), ctx, "owner", "status")
    statuses = [s for s in ctx.status_list(include_retired=True)
                if not s.retired or any(k[1] == s.id for k in counts)]
    owners = {owner for owner, _ in counts}
    rows = []
    users = ctx.vocabulary.users
    listed = [u for u in users.values() if u.id in owners or (
        params.get("scope") in ("team", "me") and u.id in _scope_user_ids(params, ctx))]
    for user in sorted(listed, key=lambda u: (u.name.lower(), u.id)):
        rows.append(_rep_row(f"owner:{user.id}", user, statuses, counts))
    if None in owners:
        rows.append(_rep_row("owner:none", None, statuses, counts))
    peak = max([row["total"] for row in rows] or [0])
    return {"rows": rows, "statuses": statuses, "peak": peak,
            "board": params.get("population") == "active"
            and params.get("source", "all") == "all"}


def _scope_user_ids(params, ctx):
    return [ctx.user.id] if params.get("scope") == "me" else ctx.team_ids


def _rep_row(key, user, statuses, counts):
    owner_id = user.id if user else None
    cells = [Bar(f"{key}:status:{s.id}", counts.get((owner_id, s.id), 0), status=s,
                 colour=f"status-fill-{s.sort_order % 6}") for s in statuses]
    return {"key": key, "user": user, "cells": cells, "total": sum(c.count for c in cells)}


def drill_rep_status(params, ctx, key):
    base = base_for("contacts", params, ctx)
    owner, _, rest = (key or "").partition(":status:") if ":status:" in (key or "") \
        else (key or "", "", "")
    value = _key_value(owner, "owner")
    if value is None:
        raise _bad_key()
    if value == "none":
        more = [Criterion("owner", "empty")]
    elif as_int(value) is not None:
        more = [Criterion("owner", "in", [int(value)])]
    else:
        raise _bad_key()
    if rest:
        if as_int(rest) is None:
            raise _bad_key()
        more.append(Criterion("lead_status", "in", [int(rest)]))
    else:
        more.append(Criterion("lead_status", "in", [s.id for s in ctx.status_list(True)]))
    return base.drill(*more)


# A number: leads in some statuses, created in a period ----------------------------------

def _count_drill(params, ctx):
    more = list(_created_window(params, ctx))
    if params["statuses"]:
        more.append(Criterion("lead_status", "in", params["statuses"]))
    return base_for("contacts", params, ctx).drill(*more)


def compute_lead_count(params, ctx):
    statuses = [ctx.vocabulary.statuses[s] for s in params["statuses"]]
    return {"total": _count_drill(params, ctx).matches(ctx).count(), "statuses": statuses,
            "days": params["days"]}


def drill_lead_count(params, ctx, key):
    if key != "total":
        raise _bad_key()
    return _count_drill(params, ctx)


# Follow-ups and activity (R24, R25) -------------------------------------------------------
# Read from the next step and last activity kept on each contact's row (indexed),
# so each is one query however many activities there are.

def _overdue_drill(params, ctx, *more):
    """Leads whose next step (earliest open follow-up) was due before now (R25)."""
    return base_for("contacts", params, ctx).drill(
        Criterion("open_follow_up", "is", True), *more,
        extra=(Contact.next_step_at < ctx.now,))


def compute_overdue_reps(params, ctx):
    counts = _grouped(_overdue_drill(params, ctx).matches(ctx), Contact.owner)
    users = ctx.vocabulary.users
    bars = [Bar(f"owner:{owner_id}" if owner_id else "owner:none", count,
                user=users.get(owner_id), label="" if owner_id else "—",
                colour="status-fill-3")
            for owner_id, count in sorted(counts.items(), key=lambda item: (
                -item[1], users[item[0]].name.lower() if item[0] in users else ""))]
    return {"bars": bars, "total": sum(bar.count for bar in bars)}


def drill_overdue_reps(params, ctx, key):
    if key == "total":
        return _overdue_drill(params, ctx)
    value = _key_value(key, "owner")
    if value == "none":
        return _overdue_drill(params, ctx, Criterion("owner", "empty"))
    if value is not None and as_int(value) is not None:
        return _overdue_drill(params, ctx, Criterion("owner", "in", [int(value)]))
    raise _bad_key()


def _no_next_step_drill(params, ctx, status_ids):
    return base_for("contacts", params, ctx).drill(
        Criterion("lead_status", "in", status_ids), Criterion("open_follow_up", "is", False))


def compute_no_next_step(params, ctx):
    shown = [s for s in ctx.status_list()]
    counts = _grouped(_no_next_step_drill(params, ctx, [s.id for s in shown]).matches(ctx),
                      Contact.lead_status)
    bars = [Bar(f"status:{s.id}", counts.get(s.id, 0), status=s,
                colour=f"status-fill-{s.sort_order % 6}") for s in shown]
    return {"bars": bars, "total": sum(bar.count for bar in bars)}


def drill_no_next_step(params, ctx, key):
    if key == "total":
        return _no_next_step_drill(params, ctx, [s.id for s in ctx.status_list()])
    status_id = _key_int(key, "status")
    if status_id is not None:
        return _no_next_step_drill(params, ctx, [status_id])
    raise _bad_key()


# Days since the last activity: buckets from the tile's "days", then twice and four times it.

def quiet_buckets(days):
    return [(days, 2 * days), (2 * days, 4 * days), (4 * days, None)]


def _quiet_drill(params, ctx, low, high=None):
    """Leads (with a lead status) whose last activity, or their creation when they have
    none, is `low` days ago or more (less than `high`), counted as the board counts days."""
    last = fn.COALESCE(Contact.last_activity_at, Contact.created_at)
    extra = [last < ctx.midnight(ctx.today - timedelta(days=low - 1))]
    if high is not None:
        extra.append(last >= ctx.midnight(ctx.today - timedelta(days=high - 1)))
    return base_for("contacts", params, ctx).drill(
        Criterion("lead_status", "in", [s.id for s in ctx.status_list()]), extra=tuple(extra))


def compute_quiet(params, ctx):
    days = params["days"]
    bars = []
    for low, high in quiet_buckets(days):
        label = (f"{low}–{high - 1}" if high else f"{low}+")
        bars.append(Bar(f"days:{low}", _quiet_drill(params, ctx, low, high).matches(ctx).count(),
                        label=label, colour="status-fill-1"))
    return {"bars": bars, "total": sum(bar.count for bar in bars), "days": days}


def drill_quiet(params, ctx, key):
    buckets = dict(quiet_buckets(params["days"]))
    if key == "total":
        return _quiet_drill(params, ctx, params["days"])
    low = _key_int(key, "days")
    if low in buckets:
        return _quiet_drill(params, ctx, low, buckets[low])
    raise _bad_key()


# --- The catalogue ----------------------------------------------------------------------

LEAD_CHANGES = frozenset({History.LEAD_STATUS, History.CATEGORY})
# Records deleted, restored or merged away leave or join every count.
RECORD_CHANGES = frozenset({History.DELETED, History.RESTORED, History.MERGED})
FOLLOW_UP_CHANGES = frozenset({History.ACTIVITY, History.OWNER, History.LEAD_STATUS,
                               History.CATEGORY})


@dataclass(frozen=True)
class TileKind:
    """A kind of tile: what it shows, its parameters and how it computes and drills down.

    `depends_on` names the history kinds whose new rows can change its
    figures; "day" adds the date (periods end today) and "suggestions" the
    pending suggestions, which are not in the history.
    """
    name: str
    label: str
    description: str
    entity: str
    params: tuple
    compute: object
    drill: object
    depends_on: frozenset = LEAD_CHANGES
    extra: frozenset = field(default_factory=frozenset)


CATALOGUE = {kind.name: kind for kind in (
    TileKind("status_counts", N_("Leads by lead status"),
             N_("How many leads sit in each lead status; the same figures as the board."),
             "contacts",
             (TITLE, POPULATION, SCOPE, SOURCE,
              Param("statuses", N_("Lead statuses"), "statuses", [],
                    hint=N_("None chosen: every status."))),
             compute_status_counts, drill_status_counts),
    TileKind("category_counts", N_("Companies by category"),
             N_("Companies in each category of a category group."),
             "companies",
             (TITLE, Param("group", N_("Category group"), "choice", POTENTIAL, GROUPS),
              Param("scope", N_("Whose"), "choice", "all", SCOPES), SOURCE),
             compute_category_counts, drill_category_counts,
             depends_on=frozenset({History.CATEGORY})),
    TileKind("group_counts", N_("Companies by category group"),
             N_("Companies in each category group."),
             "companies",
             (TITLE, Param("scope", N_("Whose"), "choice", "all", SCOPES), SOURCE),
             compute_group_counts, drill_group_counts,
             depends_on=frozenset({History.CATEGORY})),
    TileKind("new_leads", N_("New leads"),
             N_("Contacts created this week against last week (or month), with the trend."),
             "contacts",
             (TITLE, Param("period", N_("Period"), "choice", "week", PERIODS),
              Param("population", N_("Which contacts"), "choice", "potential", POPULATIONS),
              SCOPE, SOURCE),
             compute_new_leads, drill_new_leads, extra=frozenset({"day"})),
    TileKind("funnel", N_("Lead qualification funnel"),
             N_("Companies reaching each stage, from the history of changes."),
             "companies",
             (TITLE, Param("days", N_("Period"), "days", 90, DAYS),
              Param("scope", N_("Whose"), "choice", "all", SCOPES),
              Param("stages", N_("Stages"), "stages", default_stages)),
             compute_funnel, drill_funnel, extra=frozenset({"day"})),
    TileKind("median_days", N_("Median days in status"),
             N_("How long leads stay in each status, from the history of changes."),
             "contacts",
             (TITLE, Param("days", N_("Stays ended in"), "days", 90, DAYS), SCOPE,
              Param("statuses", N_("Lead statuses"), "statuses", [],
                    hint=N_("None chosen: every status."))),
             compute_median_days, drill_median_days,
             depends_on=frozenset({History.LEAD_STATUS}), extra=frozenset({"day"})),
    TileKind("utm", N_("Leads by source and campaign"),
             N_("Where leads come from: UTM source and campaign."),
             "contacts",
             (TITLE, Param("days", N_("Created in"), "days", 30, DAYS),
              Param("population", N_("Which contacts"), "choice", "all", POPULATIONS),
              SCOPE, SOURCE,
              Param("top", N_("Bars"), "number", 6, minimum=2, maximum=20)),
             compute_utm, drill_utm, extra=frozenset({"day"})),
    TileKind("stale", N_("Stale leads"),
             N_("Leads whose status has not changed for some days, oldest first."),
             "contacts",
             (TITLE, Param("statuses", N_("Lead statuses"), "statuses",
                           _default_stale_statuses),
              Param("days", N_("No change for (days)"), "number", 14, minimum=1,
                    maximum=365),
              POPULATION, SCOPE, SOURCE,
              Param("limit", N_("Rows listed"), "number", 8, minimum=1, maximum=25)),
             compute_stale, drill_stale, extra=frozenset({"day"})),
    TileKind("suggestions", N_("Pending category suggestions"),
             N_("Category changes the rules proposed that wait for an answer."),
             "companies",
             (TITLE, Param("scope", N_("Whose"), "choice", "all", SCOPES)),
             compute_suggestions, drill_suggestions,
             depends_on=frozenset({History.CATEGORY}), extra=frozenset({"suggestions"})),
    TileKind("rep_status", N_("Leads per rep by status"),
             N_("Each rep's leads, split by lead status."),
             "contacts",
             (TITLE, POPULATION, Param("scope", N_("Whose"), "choice", "team", SCOPES), SOURCE),
             compute_rep_status, drill_rep_status),
    TileKind("lead_count", N_("Number of leads"),
             N_("One number: leads in the statuses and period you choose."),
             "contacts",
             (TITLE, Param("statuses", N_("Lead statuses"), "statuses", [],
                           hint=N_("None chosen: any status.")),
              Param("days", N_("Created in"), "days", 0, DAYS), POPULATION, SCOPE, SOURCE),
             compute_lead_count, drill_lead_count, extra=frozenset({"day"})),
    TileKind("overdue_reps", N_("Overdue follow-ups per rep"),
             N_("Leads whose next step is overdue, per owner."),
             "contacts",
             (TITLE, POPULATION, Param("scope", N_("Whose"), "choice", "team", SCOPES), SOURCE),
             compute_overdue_reps, drill_overdue_reps, depends_on=FOLLOW_UP_CHANGES,
             extra=frozenset({"minute"})),
    TileKind("no_next_step", N_("Leads without a next step"),
             N_("Leads with no open follow-up, by lead status."),
             "contacts",
             (TITLE, POPULATION, SCOPE, SOURCE),
             compute_no_next_step, drill_no_next_step, depends_on=FOLLOW_UP_CHANGES),
    TileKind("quiet", N_("Days since the last activity"),
             N_("Leads with no note, call, meeting or follow-up for some days (counted from "
                "their creation when they have none)."),
             "contacts",
             (TITLE, Param("days", N_("No activity for (days)"), "number", 14, minimum=1,
                           maximum=365),
              POPULATION, SCOPE, SOURCE),
             compute_quiet, drill_quiet, depends_on=FOLLOW_UP_CHANGES, extra=frozenset({"day"})),
)}


def compute_tile(kind, params, ctx):
    """The figures of a `kind` tile with already validated `params`."""
    return CATALOGUE[kind].compute(params, ctx)


def tile_drill(kind, params, ctx, key):
    """The rows behind one figure of a tile (`key` as the tile's data names it)."""
    return CATALOGUE[kind].drill(params, ctx, key)


# --- Live refresh: what a tile's figures depend on ---------------------------------------

def tile_cache_key(kind, params, ctx):
    """(cache key, history kinds that change the figures, viewer whose leads narrow them).

    The figures depend on the viewer only when the parameters name "me" or a
    saved selection (whose criteria may name "me", or which may be private);
    tiles of everyone's or the team's leads are shared by all who look.
    """
    spec = CATALOGUE[kind]
    personal = params.get("scope") == "me" or params.get("source", "all") not in (None, "all")
    viewer = ctx.user.id if personal else None
    day = ctx.today.isoformat() if "day" in spec.extra else ""
    if "minute" in spec.extra:  # "overdue" moves with the clock, not only with changes
        day = ctx.now.strftime("%Y-%m-%dT%H:%M")
    key = (kind, json.dumps(params, sort_keys=True, default=str), viewer, day,
           _extra_state(spec))
    # A category change concerns the owners of the company's contacts, so the
    # viewer narrows the changes of contact tiles only.
    narrow_to = viewer if spec.entity == "contacts" and params.get("scope") == "me" and \
        params.get("source", "all") in (None, "all") else None
    # R27: a deleted or restored record changes the figures of every tile.
    return key, spec.depends_on | RECORD_CHANGES, narrow_to


def _extra_state(spec):
    """The state of what a tile shows that the history does not carry: pending suggestions."""
    if "suggestions" not in spec.extra:
        return ""
    newest, pending = (CategorySuggestion
                       .select(fn.MAX(CategorySuggestion.id),
                               fn.SUM(Case(None, [(CategorySuggestion.state
                                                   == CategorySuggestion.PENDING, 1)], 0)))
                       .tuples().get())
    return f"{newest or 0}-{int(pending or 0)}"
