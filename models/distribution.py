"""Distribution flows (R22): new leads from web forms and imports handed to reps.

A flow is an ordered list of reps and a strategy:

- *round-robin* gives each active member the next lead in turn. The flow
  remembers the position of the member who got the last lead
  (`last_position`); the next lead goes to the first active member after it,
  wrapping around. Deactivated users stay members (their place in the order
  is kept for when they come back) but are skipped.
- *least open leads* gives the lead to the active member with the fewest
  contacts in the initial lead status (Open: "no sales contact made yet"),
  ties broken by the order of the flow.

`next_owners` must run inside the caller's write transaction: it reads and
moves the round-robin state in the database, so two submissions handled at
the same time by two server processes are served one after the other and
the turn stays fair. On PostgreSQL the flow row is locked (SELECT ... FOR
UPDATE); SQLite needs no lock, its write transactions start with BEGIN
IMMEDIATE and never overlap.

An assignment is recorded in the history as a row of kind "owner" (R20
style) by `engine.set_owner` / `engine.create_contacts`: nobody acted, so the
row has no `actor`; `to_owner` is the user the lead was given to, `source`
says "form" or "import" and `source_label` names the form or file.
"""
import heapq

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, fn

from .audit import describe_changes, record_audit
from . import engine
from .db import BaseModel, database, is_sqlite
from .rules import RuleViolation
from .schema import N_, Contact, LeadStatus, User, now
from .values import as_int, clean_name

AREA = "web_forms"  # distribution flows are audited with the web forms they serve
NAME_MAX = 100

STRATEGIES = {
    "round_robin": N_("Round-robin"),
    "least_open": N_("Least open leads"),
}
STRATEGY_HINTS = {
    "round_robin": N_("Each active rep gets the next lead in turn."),
    "least_open": N_("The lead goes to the active rep with the fewest contacts in the initial "
                     "lead status."),
}


class DistributionFlow(BaseModel):
    name = CharField()
    strategy = CharField(default="round_robin")
    active = BooleanField(default=True)
    # Round-robin state: the position of the member who got the last lead.
    last_position = IntegerField(default=-1)
    created_at = DateTimeField(default=now)

    @property
    def strategy_label(self):
        return STRATEGIES.get(self.strategy, self.strategy)


class DistributionFlowMember(BaseModel):
    flow = ForeignKeyField(DistributionFlow, backref="members", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
    position = IntegerField(default=0)

    class Meta:
        indexes = ((("flow", "user"), True),)


# --- Reading -------------------------------------------------------------------

def flows_with_counts():
    """Every flow with its number of members and of active members, active flows first."""
    # Correlated subqueries: one statement for the whole list.
    members = (DistributionFlowMember.select(fn.COUNT(DistributionFlowMember.id))
               .where(DistributionFlowMember.flow == DistributionFlow.id))
    active = (DistributionFlowMember.select(fn.COUNT(DistributionFlowMember.id))
              .join(User, on=(DistributionFlowMember.user == User.id))
              .where(DistributionFlowMember.flow == DistributionFlow.id,
                     User.active == True))  # noqa: E712
    return (DistributionFlow
            .select(DistributionFlow, members.alias("member_count"),
                    active.alias("active_count"))
            .order_by(DistributionFlow.active.desc(), DistributionFlow.name,
                      DistributionFlow.id))


def flow_members(flow, active_only=False):
    """The members of `flow` with their users, in the order of the flow."""
    query = (DistributionFlowMember
             .select(DistributionFlowMember, User)
             .join(User, on=(DistributionFlowMember.user == User.id), attr="user")
             .where(DistributionFlowMember.flow == flow)
             .order_by(DistributionFlowMember.position, DistributionFlowMember.id))
    if active_only:
        query = query.where(User.active == True)  # noqa: E712
    return list(query)


def open_lead_counts(user_ids):
    """{user id: number of contacts they own in the initial lead status}."""
    if not user_ids:
        return {}
    initial = LeadStatus.initial()
    rows = (Contact.select(Contact.owner, fn.COUNT(Contact.id))
            .where(Contact.owner.in_(list(user_ids)), Contact.lead_status == initial)
            .group_by(Contact.owner)
            .tuples())
    counts = dict.fromkeys(user_ids, 0)
    counts.update(dict(rows))
    return counts


def active_flows():
    return (DistributionFlow.select()
            .where(DistributionFlow.active == True)  # noqa: E712
            .order_by(DistributionFlow.name))


# --- Assigning -----------------------------------------------------------------------

def _locked(flow):
    """The flow row, re-read inside the transaction (locked on PostgreSQL)."""
    query = DistributionFlow.select().where(DistributionFlow.id == flow.id)
    if not is_sqlite():
        query = query.for_update()
    return query.get()


def next_owners(flow, count=1):
    """R22: the users the next `count` leads go to, in order, and the turn moved on.

    Returns an empty list when the flow is switched off or has no active
    member: the leads then stay without an owner. Call it inside the
    transaction that stores the leads.
    """
    if flow is None or count <= 0:
        return []
    flow = _locked(flow)
    members = flow_members(flow, active_only=True) if flow.active else []
    if not members:
        return []
    if flow.strategy == "least_open":
        owners = _least_open(members, count)
    else:
        owners = _round_robin(flow, members, count)
    last = next(m for m in members if m.user.id == owners[-1].id)
    (DistributionFlow.update(last_position=last.position)
     .where(DistributionFlow.id == flow.id).execute())
    return owners


def _round_robin(flow, members, count):
    """The next `count` active members in turn after the one who got the last lead."""
    start = next((index for index, member in enumerate(members)
                  if member.position > flow.last_position), 0)
    return [members[(start + step) % len(members)].user for step in range(count)]


def _least_open(members, count):
    """Each lead to the member with the fewest open leads so far, ties in flow order."""
    counts = open_lead_counts([m.user.id for m in members])
    heap = [(counts[m.user.id], order, m.user) for order, m in enumerate(members)]
    heapq.heapify(heap)
    owners = []
    for _ in range(count):
        open_count, order, user = heapq.heappop(heap)
        owners.append(user)
        # The new lead starts in the initial status: it counts for its owner.
        heapq.heappush(heap, (open_count + 1, order, user))
    return owners


def record_assignment(contact, user, actor):
    """Give `contact` (which has no owner yet) to `user` by a flow: an owner change
    from nobody, recorded in its history by the same rule as any other (R20)."""
    return engine.set_owner([contact.id], user, actor)


# --- Admin changes ---------------------------------------------------------------------

def _clean(name, strategy, member_ids):
    name = clean_name(name, NAME_MAX, missing=N_("A distribution flow needs a name."),
                      too_long=N_("A name can be at most %(limit)s characters."))
    if strategy not in STRATEGIES:
        raise RuleViolation(N_("Unknown strategy."), field="strategy")
    member_ids = list(dict.fromkeys(as_int(i) for i in member_ids))
    if None in member_ids:
        raise RuleViolation(N_("Unknown user."), field="members")
    known = {u.id for u in User.select(User.id).where(User.id.in_(member_ids))} \
        if member_ids else set()
    if set(member_ids) - known:
        raise RuleViolation(N_("Unknown user."), field="members")
    return name, member_ids


def _snapshot(flow):
    return {"name": flow.name, "strategy": flow.strategy, "active": flow.active,
            "members": [m.user_id for m in
                        flow.members.order_by(DistributionFlowMember.position)]
            if flow.id else []}


def save_flow(flow, actor, name, strategy, active, member_ids):
    """Create (flow None) or change a flow; `member_ids` in the order leads go round.

    The round-robin turn survives a change of members: the next lead goes to
    the first member placed after the one who got the last lead.
    """
    name, member_ids = _clean(name, strategy, member_ids)
    with database.atomic():
        # Re-read: the turn may have moved since the caller loaded the flow.
        flow = _locked(flow) if flow is not None else DistributionFlow()
        before = _snapshot(flow)
        flow.name, flow.strategy, flow.active = name, strategy, bool(active)
        if flow.id is not None and before["members"] != member_ids:
            # Keep the turn: point it at the new place of the member who had it.
            last = (DistributionFlowMember.select(DistributionFlowMember.user)
                    .where(DistributionFlowMember.flow == flow,
                           DistributionFlowMember.position == flow.last_position).first())
            if last and last.user_id in member_ids:
                flow.last_position = member_ids.index(last.user_id)
            else:
                flow.last_position = -1
        flow.save()
        (DistributionFlowMember.delete()
         .where(DistributionFlowMember.flow == flow).execute())
        if member_ids:
            DistributionFlowMember.insert_many(
                [{"flow": flow.id, "user": user_id, "position": position}
                 for position, user_id in enumerate(member_ids)]).execute()
        after = _snapshot(flow)
        if before != after:
            record_audit(actor, AREA, "changed" if before["name"] else "created",
                         f"Distribution flow: {name}", describe_changes(before, after))
    return flow


def members_with_open_counts(flow):
    """The members of `flow` in order, each with `open_count`, and who is next in turn."""
    members = flow_members(flow)
    counts = open_lead_counts([m.user.id for m in members])
    for member in members:
        member.open_count = counts.get(member.user.id, 0)
    active = [m for m in members if m.user.active]
    upcoming = None
    if active and flow.active:
        if flow.strategy == "least_open":
            upcoming = _least_open(active, 1)[0]
        else:
            upcoming = _round_robin(flow, active, 1)[0]
    return members, upcoming

