"""Selections: saved searches of contacts or companies (SPEC glossary, Screens).

A *dynamic* selection keeps its criteria and runs them again on every
open, for the user who opens it ("owner is me" is that user). A *static*
selection keeps a frozen member list, filled from a search when saved and
then changed by hand. A selection is private to its owner unless shared
with the team; only the owner or an admin may change or delete it.
"""
import json

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, TextField, fn

from .db import BaseModel, among, database
from .rules import RuleViolation
from .schema import N_, Company, Contact, RecordKey, User, now
from .search import ENTITIES, Criteria, Matches, parse_criteria, run_criteria
from .values import clean_name

DYNAMIC, STATIC = "dynamic", "static"
KINDS = {DYNAMIC: N_("Dynamic"), STATIC: N_("Static")}
MAX_NAME = 120
MAX_MEMBERS_PER_CHANGE = 1000


class Selection(BaseModel):
    name = CharField()
    owner = ForeignKeyField(User, backref="selections", on_delete="CASCADE")
    shared = BooleanField(default=False)
    kind = CharField(default=DYNAMIC)
    entity = CharField(default="contacts")
    # The versioned criteria JSON of models.search; for a static selection,
    # the search its members were first taken from.
    criteria = TextField(default="")
    created_at = DateTimeField(default=now)
    updated_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("owner", "name"), False), (("shared", "name"), False))

    @property
    def is_static(self):
        return self.kind == STATIC

    def parsed_criteria(self, vocabulary=None):
        """The stored criteria, validated again: lists may have changed since (CriteriaError)."""
        return parse_criteria(self.criteria or json.dumps(Criteria(self.entity).to_data()),
                              vocabulary)


class SelectionMember(BaseModel):
    """One contact or company of a static selection."""
    selection = ForeignKeyField(Selection, backref="members", on_delete="CASCADE")
    contact = RecordKey(Contact, null=True, backref="+", on_delete="CASCADE")
    company = RecordKey(Company, null=True, backref="+", on_delete="CASCADE")
    added_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("selection", "contact"), True), (("selection", "company"), True))


def _member_column(entity):
    return SelectionMember.contact if entity == "contacts" else SelectionMember.company


def _clean_name(name):
    return clean_name(" ".join(str(name or "").split()), MAX_NAME,
                      missing=N_("Give the selection a name."),
                      too_long=N_("A selection name can be at most %(max)s characters."))


def can_change(selection, user):
    """Only the owner of a selection or an admin may rename, delete or edit it."""
    return user is not None and (selection.owner_id == user.id or user.is_admin)


def _check_can_change(selection, user):
    if not can_change(selection, user):
        raise RuleViolation(N_("Only the owner of a selection or an admin can change it."))


def _check_static(selection):
    if not selection.is_static:
        raise RuleViolation(N_("Members are added and removed by hand only in a static "
                               "selection."))


def visible_selections(user, entity=None):
    """The user's own selections and those shared with the team, with owners, by name."""
    query = (Selection.select(Selection, User)
             .join(User, on=(Selection.owner == User.id), attr="owner")
             .where((Selection.owner == user.id) | (Selection.shared == True))  # noqa: E712
             .order_by(Selection.name, Selection.id))
    return query.where(Selection.entity == entity) if entity else query


def visible_selection(selection_id, user):
    """The selection if `user` may see it (owner, or shared); None otherwise."""
    return visible_selections(user).where(Selection.id == selection_id).first()


def save_selection(user, name, criteria, kind=DYNAMIC, shared=False):
    """Save `criteria` as a selection of `user`; a static one takes today's matches as members.

    The criteria are run for the user saving them, so a static "owner is
    me" selection freezes the saver's own leads.
    """
    if kind not in KINDS:
        raise RuleViolation(N_("Choose dynamic or static."))
    if criteria.entity not in ENTITIES:
        raise RuleViolation(N_("Unknown kind of search: %(entity)s."), entity=criteria.entity)
    name = _clean_name(name)
    matches = run_criteria(criteria, user) if kind == STATIC else None
    with database.atomic():
        selection = Selection.create(name=name, owner=user, shared=bool(shared), kind=kind,
                                     entity=criteria.entity, criteria=criteria.to_json())
        if matches is not None:
            _insert_members(selection, matches.ids())
    return selection


def _insert_members(selection, ids_query):
    """Add the rows of `ids_query` to a static selection, in one INSERT ... SELECT."""
    column = _member_column(selection.entity)
    # Existing members are left alone (the unique index), so adding twice is harmless.
    return (SelectionMember
            .insert_from(ids_query.select_extend(selection.id, now()).order_by(),
                         [column, SelectionMember.selection, SelectionMember.added_at])
            .on_conflict_ignore()
            .execute())


def add_imported(selection_id, contact_ids):
    """Add contacts to the static selection an import keeps of what it wrote."""
    selection = Selection.get_by_id(selection_id)
    _insert_members(selection, Contact.select(Contact.id).where(among(Contact.id, contact_ids)))


def selection_matches(selection, user, today=None, vocabulary=None):
    """What the selection holds now: its criteria run for `user`, or its members."""
    if selection.is_static:
        model = Contact if selection.entity == "contacts" else Company
        # EXISTS, not IN: a board column reads rows in its index order and
        # checks each against the members index, instead of first listing
        # every member (100 times slower for 50 cards of 80,000 members).
        member = (SelectionMember.select(SelectionMember.id)
                  .where(SelectionMember.selection == selection.id,
                         _member_column(selection.entity) == model.id))
        return Matches(selection.entity, [fn.EXISTS(member)])
    return run_criteria(selection.parsed_criteria(vocabulary), user, today)


def rename_selection(selection, user, name, shared):
    """Rename a selection and share it with the team or make it private again."""
    _check_can_change(selection, user)
    selection.name = _clean_name(name)
    selection.shared = bool(shared)
    selection.updated_at = now()
    selection.save()
    return selection


def change_criteria(selection, user, criteria):
    """Give a dynamic selection new criteria (of the same entity)."""
    _check_can_change(selection, user)
    if selection.is_static:
        raise RuleViolation(N_("A static selection keeps its members; save the search as a "
                               "new selection instead."))
    if criteria.entity != selection.entity:
        raise RuleViolation(N_("The criteria are for another kind of search."))
    selection.criteria = criteria.to_json()
    selection.updated_at = now()
    selection.save()
    return selection


def delete_selection(selection, user):
    _check_can_change(selection, user)
    with database.atomic():
        SelectionMember.delete().where(SelectionMember.selection == selection.id).execute()
        selection.delete_instance()


def add_members(selection, user, ids):
    """Add contacts (or companies) by id to a static selection; unknown ids are ignored.

    Returns how many were added.
    """
    _check_can_change(selection, user)
    _check_static(selection)
    ids = _checked_ids(ids)
    model = Contact if selection.entity == "contacts" else Company
    with database.atomic():
        before = _member_count(selection)
        _insert_members(selection, model.select(model.id).where(model.id.in_(ids)))
        selection.updated_at = now()
        selection.save()
        return _member_count(selection) - before


def add_matches(selection, user, matches):
    """Add every row of `matches` (a search) to a static selection; returns how many."""
    _check_can_change(selection, user)
    _check_static(selection)
    if matches.entity != selection.entity:
        raise RuleViolation(N_("The criteria are for another kind of search."))
    with database.atomic():
        before = _member_count(selection)
        _insert_members(selection, matches.ids())
        selection.updated_at = now()
        selection.save()
        return _member_count(selection) - before


def remove_members(selection, user, ids):
    """Take contacts (or companies) out of a static selection; returns how many."""
    _check_can_change(selection, user)
    _check_static(selection)
    ids = _checked_ids(ids)
    with database.atomic():
        removed = (SelectionMember.delete()
                   .where(SelectionMember.selection == selection.id,
                          _member_column(selection.entity).in_(ids))
                   .execute())
        selection.updated_at = now()
        selection.save()
    return removed


def _checked_ids(ids):
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise RuleViolation(N_("Tick at least one row."))
    if len(ids) > MAX_MEMBERS_PER_CHANGE:
        raise RuleViolation(N_("Tick at most %(max)s rows at a time."),
                            max=MAX_MEMBERS_PER_CHANGE)
    return ids


def _member_count(selection):
    return SelectionMember.select().where(SelectionMember.selection == selection.id).count()


TABLES = [Selection, SelectionMember]
