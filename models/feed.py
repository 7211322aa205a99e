"""The change feed: the history table read as a stream of changes.

Every lead status, category and owner change is a History row with a
growing id, written in the same transaction as the change, so any server
process can tell what changed by reading the database.

One `FeedHub` per server process reads the feed once and fans it out to
every open stream of that process (and to the dashboard tile cache), so
the database work of the feed does not grow with the number of open tabs:

- on SQLite (one machine) its reader asks for rows newer than the last one
  it saw, a couple of times a second;
- on PostgreSQL a trigger (migration 0014) announces the ids of every
  statement's new history rows with NOTIFY, in the writing transaction, so
  the announcement is delivered at commit, in commit order, to every
  process on every machine, and never for a rolled-back change. The reader
  LISTENs and reads the announced rows; it never polls.

PostgreSQL hands out an id when the row is inserted, not when it commits,
so a change can arrive after a newer one. The hub remembers the ids it has
not seen below the newest (gaps) for `gap_seconds` (a rolled-back
transaction leaves its id unused for good); the id a stream gives its
browser to come back with (Last-Event-ID) is below the oldest gap, so a
reconnect never skips a late change (it may see one twice).
"""
import collections
import contextlib
import itertools
import logging
import os
import select
import threading
import time
from typing import NamedTuple

from peewee import JOIN, SqliteDatabase, fn

from .prepared import Prepared
from .schema import Contact, History

log = logging.getLogger(__name__)

CHANNEL = "tavla_feed"
BULK = "bulk"  # the kind of a stand-in for more changes than are worth naming
BULK_ROWS = 500  # more new rows than this at once are "everything may have changed"


class Change(NamedTuple):
    """One change: its history id and kind, the company and contact it concerns,
    and the owners whose leads it concerns (0: a lead without an owner); for a
    merge, the id of the duplicate (contact or company) that went into it."""
    id: int
    kind: str
    company: int | None
    contact: int | None
    owners: frozenset
    merged: int | None = None


def latest_change_id():
    """The id of the newest change, 0 for none."""
    return History.select(fn.MAX(History.id)).scalar() or 0


def changes_after(last_id, limit=BULK_ROWS):
    """Changes newer than `last_id`, oldest first (at most `limit`)."""
    return _changes_of(_AFTER(last_id, limit))


def changes_between(first, last, limit=BULK_ROWS):
    """Changes with ids from `first` to `last` (an announced range)."""
    return _changes(History.id.between(first, last), limit)


def changes_with_ids(ids):
    """The changes with these ids (announced ones), oldest first."""
    return _changes(History.id.in_(sorted(ids)), len(ids)) if ids else []


def _change_query(condition, limit):
    # The contact's owner now (not when the row was written): a board that
    # shows the lead must hear of it.
    return (History
            .select(History.id, History.kind, History.company, History.contact,
                    History.from_owner, History.to_owner, Contact.owner,
                    History.source_label)
            .join(Contact, on=(History.contact == Contact.id), join_type=JOIN.LEFT_OUTER)
            .where(condition)
            .order_by(History.id)
            .limit(limit)
            .tuples())


# The changes after the newest one seen: SQLite's reader asks a couple of times a
# second and every dashboard tile once, so its SQL is written once.
_AFTER = Prepared(lambda last_id, limit: _change_query(History.id > last_id, limit), count=2)


def _changes(condition, limit):
    return _changes_of(list(_change_query(condition, limit)))


def _changes_of(rows):
    # A category change concerns every contact of its company, so their owners
    # are read in a second query.
    moved = {row[2] for row in rows if row[3] is None}
    company_owners = collections.defaultdict(set)
    if moved:
        # Deleted contacts too: the owners of a deleted company's leads must hear of it.
        for company, owner in (Contact.everything(Contact.company, Contact.owner)
                               .where(Contact.company.in_(sorted(moved)))
                               .distinct().tuples()):
            company_owners[company].add(owner or 0)
    changes = []
    for row_id, kind, company, contact, from_owner, to_owner, owner, label in rows:
        if contact is None:
            owners = company_owners.get(company, set())
        else:
            # An owner change concerns both owners; a merge the duplicate's owner too.
            owners = ({owner or 0, from_owner or 0, to_owner or 0}
                      if kind in (History.OWNER, History.MERGED) else {owner or 0})
        # A merge names the duplicate's old id: the pages showing it drop it.
        merged = (int(label) if kind == History.MERGED and label.isascii() and label.isdigit()
                  else None)
        changes.append(Change(row_id, kind, company, contact, frozenset(owners), merged))
    return changes


def bulk_change(last_id):
    """A stand-in for many changes up to `last_id`: every open page refreshes."""
    return Change(last_id, BULK, None, None, frozenset())


def parse_announcement(payload):
    """The ids a NOTIFY announced: "12,13,15", or "12-900" for a range. Junk: nothing."""
    ids, ranges = set(), []
    for part in (payload or "").split(","):
        first, dash, last = part.strip().partition("-")
        if dash and first.isascii() and first.isdigit() and last.isascii() and last.isdigit():
            ranges.append((int(first), int(last)))
        elif not dash and first.isascii() and first.isdigit():
            ids.add(int(first))
    return ids, ranges


class Behind(Exception):
    """A stream is further behind than the hub remembers: the page should reload."""


class Busy(Exception):
    """This process holds as many streams as it is allowed to."""


class FeedHub:
    """The change feed of one server process, read once and shared by its streams.

    Changes are kept in arrival order with a local sequence number; a stream
    remembers the last number it sent and waits on the hub for newer ones.
    The reader starts with the first stream (or tile cache lookup) and stops
    after `idle_seconds` without either, so an idle process reads nothing.
    """

    def __init__(self, db, poll_seconds=0.5, buffer_size=20_000, gap_seconds=30,
                 idle_seconds=120, max_streams=1000, clock=time.monotonic):
        self.db = db
        self.poll_seconds = poll_seconds
        self.gap_seconds = gap_seconds
        self.idle_seconds = idle_seconds
        self.max_streams = max_streams
        self.clock = clock
        self._cond = threading.Condition()
        self._wake = threading.Event()  # ends the poller's sleep (closing)
        self._reading = threading.Lock()  # one read of the database at a time
        self._caught_up = threading.Event()  # the reader runs and has read what came before
        self._entries = collections.deque(maxlen=buffer_size)  # (seq, Change)
        self._seq = 0
        self._generation = 0  # raised at every (re)start: cached figures become unknown
        self._max_id = 0  # newest id seen
        self._covered_from = None  # every id above this was seen (or is in a gap)
        self._gaps = []  # [first id, last id, noticed at]
        self._streams = 0
        self._reader = None
        self._pid = None
        self._running = False
        self._closing = False
        self._last_used = clock()
        self.stats = collections.Counter()

    # --- Life cycle --------------------------------------------------------------------

    @property
    def is_postgres(self):
        return not isinstance(self.db, SqliteDatabase)

    def ensure_running(self):
        """Start the reader in this process if it is not running (after a fork, too)."""
        with self._cond:
            self._last_used = self.clock()
            if self._closing:
                return
            if self._running and self._pid == os.getpid() and self._reader.is_alive():
                return
            self._pid = os.getpid()
            self._running = True
            self._generation += 1
            self._entries.clear()
            self._gaps = []
            with _connected(self.db):
                self._max_id = latest_change_id()
            self.stats["queries"] += 1
            self._covered_from = self._max_id
            self._caught_up.clear()
            self._reader = threading.Thread(target=self._read_forever, daemon=True,
                                            name="tavla-feed")
            self._reader.start()

    def close(self):
        """End every stream of this process and stop reading (the server is stopping)."""
        with self._cond:
            self._closing = True
            self._running = False
            self._cond.notify_all()
        self._wake.set()

    @property
    def closing(self):
        return self._closing

    def _idle(self):
        return self._streams == 0 and self.clock() - self._last_used > self.idle_seconds

    def _read_forever(self):
        try:
            if self.is_postgres:
                self._listen()
            else:
                self._poll()
        finally:
            with self._cond:
                if self._reader is threading.current_thread():
                    self._running = False
                    self._caught_up.clear()
                self._cond.notify_all()

    def _keep_reading(self):
        with self._cond:
            if self._closing or self._reader is not threading.current_thread():
                return False
            if self._idle():
                self._running = False
                return False
            return True

    # --- SQLite: one reader asks for what is new ---------------------------------------

    def _poll(self):
        # ensure_running has just read the newest id: the first read can wait.
        self._caught_up.set()
        while not self._wake.wait(self.poll_seconds) and self._keep_reading():
            try:
                self.read_new()
            except Exception:  # noqa: BLE001 - the reader must outlive a bad moment
                log.exception("The change feed could not be read; trying again")
                time.sleep(1)

    def read_new(self):
        """Read the changes after the newest one seen (SQLite's poll; a catch-up)."""
        with self._reading, _connected(self.db):
            self.stats["queries"] += 1
            changes = changes_after(self._max_id, BULK_ROWS + 1)
            if len(changes) > BULK_ROWS:
                self.stats["queries"] += 1
                changes = [bulk_change(latest_change_id())]
            self.add(changes)

    def sync(self):
        """Make sure the hub has every change committed before now (a page that must not
        show figures older than the request): SQLite reads now rather than at the next
        poll; on PostgreSQL the hub waits (briefly) for the announcement of the newest."""
        self.ensure_running()
        if not self._running:
            return
        if self.is_postgres:
            with _connected(self.db):
                self.stats["queries"] += 1
                newest = latest_change_id()
            self.wait_for_id(newest, 1.0)
        else:
            self.read_new()

    # --- PostgreSQL: announcements by NOTIFY -------------------------------------------

    def _listen(self):
        while self._keep_reading():
            connection = None
            try:
                connection = self._listening_connection()
                # Whatever committed while nobody listened (the start, a lost connection).
                self.read_new()
                self._caught_up.set()
                while self._keep_reading():
                    readable, _, _ = select.select([connection], [], [], 1.0)
                    if not readable:
                        self.stats["quiet_seconds"] += 1
                        continue
                    connection.poll()
                    payloads = [note.payload for note in connection.notifies]
                    connection.notifies.clear()
                    if payloads:
                        self.stats["notifications"] += len(payloads)
                        self.read_announced(payloads)
            except Exception:  # noqa: BLE001 - reconnect after any database trouble
                log.exception("The change feed lost its PostgreSQL connection; reconnecting")
                time.sleep(1)
            finally:
                if self._reader is threading.current_thread():
                    self._caught_up.clear()
                if connection is not None:
                    try:
                        connection.close()
                    except Exception:  # noqa: BLE001
                        pass

    def wait_until_caught_up(self, timeout):
        """True once the reader runs and has read what came before it: on PostgreSQL
        once its LISTEN is on and it has read what committed meanwhile."""
        return self._caught_up.wait(timeout)

    def _listening_connection(self):
        import psycopg2  # only on PostgreSQL
        params = {k: v for k, v in self.db.connect_params.items()
                  if k in ("host", "port", "user", "password", "sslmode", "options")}
        connection = psycopg2.connect(dbname=self.db.database, **params)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        return connection

    def read_announced(self, payloads):
        """Read the rows the NOTIFY payloads name, in one query (a range: one more)."""
        ids, ranges = set(), []
        for payload in payloads:
            more_ids, more_ranges = parse_announcement(payload)
            ids |= more_ids
            ranges += more_ranges
        changes = []
        with _connected(self.db):
            if ids:
                self.stats["queries"] += 1
                changes += changes_with_ids(ids)
            for first, last in ranges:
                if last - first >= BULK_ROWS:
                    changes.append(bulk_change(last))
                    self._forget_gaps(first, last)
                else:
                    self.stats["queries"] += 1
                    changes += changes_between(first, last)
        self.add(changes)

    def _forget_gaps(self, first, last):
        with self._cond:
            self._gaps = [part for gap in self._gaps
                          for part in _without(gap, first, last)]

    # --- Fan-out -----------------------------------------------------------------------

    def add(self, changes, now=None):
        """Take new changes (in any order of ids) and wake the streams."""
        if not changes:
            return
        now = self.clock() if now is None else now
        with self._cond:
            for change in sorted(changes, key=lambda c: c.id):
                if change.id > self._max_id:
                    if change.id > self._max_id + 1 and change.kind != BULK:
                        self._gaps.append([self._max_id + 1, change.id - 1, now])
                    elif change.kind == BULK:
                        self._gaps = [g for g in self._gaps if g[1] > change.id]
                    self._max_id = change.id
                elif any(seen.id == change.id for _, seen in reversed(self._entries)):
                    # Already here: a commit can come both by the catch-up read made
                    # when listening starts and by its notification.
                    continue
                else:
                    self._gaps = [part for gap in self._gaps
                                  for part in _without(gap, change.id, change.id)]
                self._seq += 1
                if len(self._entries) == self._entries.maxlen:
                    # The oldest change is forgotten: a reconnect from before it
                    # must ask the database.
                    self._covered_from = max(self._covered_from or 0, self._entries[0][1].id)
                self._entries.append((self._seq, change))
            self._expire_gaps(now)
            self._cond.notify_all()

    def _expire_gaps(self, now):
        self._gaps = [gap for gap in self._gaps if now - gap[2] < self.gap_seconds]

    def position(self):
        """The sequence number of the newest change this process has."""
        with self._cond:
            return self._seq

    @property
    def generation(self):
        return self._generation

    def resume_id(self, now=None):
        """The id a browser should come back with: below every change not yet seen."""
        with self._cond:
            self._expire_gaps(self.clock() if now is None else now)
            return min(gap[0] for gap in self._gaps) - 1 if self._gaps else self._max_id

    def changes_since(self, seq):
        """The changes after sequence number `seq`; Behind when they are forgotten."""
        with self._cond:
            return self._since(seq)

    def _since(self, seq):
        if seq > self._seq:
            raise Behind()  # a number from before a restart of the reader
        if seq == self._seq:
            return []
        if not self._entries or self._entries[0][0] > seq + 1:
            raise Behind()
        # The newest entries, read from the right: each of a thousand waiting streams
        # takes what it has not seen, not a copy of the whole buffer.
        newest = list(itertools.islice(reversed(self._entries), self._seq - seq))
        newest.reverse()
        return [change for _, change in newest]

    def wait(self, seq, timeout):
        """(newest seq, changes after `seq`) once there are any, or after `timeout`."""
        deadline = self.clock() + timeout
        with self._cond:
            self._last_used = self.clock()
            while self._seq == seq and not self._closing:
                left = deadline - self.clock()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._seq, self._since(seq)

    def changes_after_id(self, last_id):
        """Changes with ids above `last_id` (a reconnect): from memory when the hub saw
        every one of them, else from the database."""
        with self._cond:
            if self._running and self._covered_from is not None \
                    and last_id >= self._covered_from:
                return self._seq, [c for _, c in self._entries if c.id > last_id]
            seq = self._seq
        with _connected(self.db):
            self.stats["queries"] += 1
            changes = changes_after(last_id, BULK_ROWS + 1)
        if len(changes) > BULK_ROWS:
            changes = [bulk_change(changes[-1].id)]
        return seq, changes

    def wait_for_id(self, change_id, timeout):
        """Wait until the hub has seen `change_id` (a page asks after an event from another
        process); False when it did not come within `timeout`."""
        deadline = self.clock() + timeout
        with self._cond:
            while self._max_id < change_id and self._running and not self._closing:
                left = deadline - self.clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return self._max_id >= change_id

    # --- Streams -----------------------------------------------------------------------

    def open_stream(self):
        """Count a new stream in; Busy past `max_streams`."""
        self.ensure_running()
        with self._cond:
            if self._streams >= self.max_streams:
                self.stats["refused"] += 1
                raise Busy()
            self._streams += 1
            self.stats["opened"] += 1

    def close_stream(self):
        with self._cond:
            self._streams -= 1
            self._last_used = self.clock()

    @property
    def streams(self):
        return self._streams

    def status(self):
        """What an admin (or the benchmark) may read about this process's feed."""
        with self._cond:
            return {"pid": os.getpid(), "streams": self._streams,
                    "max_streams": self.max_streams, "reading": self._running,
                    "caught_up": self._caught_up.is_set(),
                    "backend": "postgresql" if self.is_postgres else "sqlite",
                    "newest_id": self._max_id, "buffered": len(self._entries),
                    "gaps": len(self._gaps), **self.stats}


@contextlib.contextmanager
def _connected(db):
    """A connection for the reader, or the one the calling request already holds."""
    if db.is_closed():
        with db.connection_context():
            yield
    else:
        yield


def _without(gap, first, last):
    """The parts of `gap` outside the ids `first`..`last`."""
    start, end, noticed = gap
    parts = []
    if start < first:
        parts.append([start, min(end, first - 1), noticed])
    if end > last:
        parts.append([max(start, last + 1), end, noticed])
    return parts


def summarize(changes, most=200):
    """The news of a batch of changes as a stream or poll sends it.

    More than `most` contacts, or a bulk change, is sent as "everything":
    the page refreshes what it shows instead of asking about each.
    """
    if any(c.kind == BULK for c in changes) or len({c.contact for c in changes}) > most:
        return {"all": True}
    merged_contacts = {c.merged for c in changes if c.merged and c.contact}
    merged_companies = {c.merged for c in changes if c.merged and c.contact is None}
    return {"contacts": sorted({c.contact for c in changes if c.contact} | merged_contacts),
            # Companies whose category changed: each of their contacts may have
            # changed column or left a board.
            "companies": sorted({c.company for c in changes if c.contact is None and c.company}
                                | merged_companies),
            "owners": sorted({o for c in changes for o in c.owners}),
            "kinds": sorted({c.kind for c in changes})}
