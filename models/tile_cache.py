"""Dashboard figures computed once per server process and shared by every viewer.

When a lead moves, every open dashboard asks for its tiles again. Most
managers look at the same tiles (the default dashboard's, with the same
parameters), so a tile's figures are kept per process under what they
depend on: the kind, its parameters, the viewer when the parameters name
"me" or a saved selection, and the day. They stay valid until the change
feed brings a change of a kind the tile counts (for a tile of "my" leads:
one concerning the viewer's leads), or `max_age` passes (what the feed does
not carry, such as a renamed status or a contact created without a status).

Each entry carries a fingerprint of its figures, so a page that already
shows them is answered "unchanged" without drawing the tile again. Two
requests for the same figures at once compute them once.
"""
import collections
import dataclasses
import datetime
import decimal
import hashlib
import json
import threading
import time
from typing import Any, NamedTuple

from peewee import Model

from .feed import BULK, Behind


class Figures(NamedTuple):
    data: Any
    fingerprint: str
    seq: int
    generation: int
    computed_at: float


def fingerprint(data):
    """A short digest of computed figures: equal figures, equal digest.

    Rows are reduced to their field values, so a renamed status changes it.
    """
    digest = hashlib.blake2b(json.dumps(_plain(data), sort_keys=True, separators=(",", ":"))
                             .encode(), digest_size=9)
    return digest.hexdigest()


def _plain(value):
    if isinstance(value, Model):
        return [type(value).__name__, {k: _plain(v) for k, v in value.__data__.items()}]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return [[_plain(k), _plain(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (datetime.date, datetime.datetime, decimal.Decimal)):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


class TileCache:
    """Figures per (kind, parameters, viewer, day) for one server process."""

    def __init__(self, hub, max_age=30.0, size=2000, clock=time.monotonic):
        self.hub = hub
        self.max_age = max_age
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._entries = collections.OrderedDict()
        self._computing = {}
        self.stats = collections.Counter()

    def figures(self, key, depends_on, viewer_id, compute):
        """The figures for `key`, computed by `compute()` unless a valid copy is kept.

        `depends_on` are the history kinds that change them; `viewer_id`, when
        the figures are about the viewer's own leads, narrows those changes to
        the ones concerning the viewer's leads.
        """
        while True:
            with self._lock:
                kept = self._entries.get(key)
                if kept is not None and self._still_valid(kept, depends_on, viewer_id):
                    self._entries.move_to_end(key)
                    self.stats["hits"] += 1
                    return kept
                done = self._computing.get(key)
                if done is None:
                    done = self._computing[key] = threading.Event()
                    break
            done.wait(30)  # someone else computes the same figures: use theirs
        try:
            seq, generation = self.hub.position(), self.hub.generation
            data = compute()
            entry = Figures(data, fingerprint(data), seq, generation, self.clock())
            with self._lock:
                self.stats["computed"] += 1
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            return entry
        finally:
            with self._lock:
                self._computing.pop(key).set()

    def _still_valid(self, entry, depends_on, viewer_id):
        if entry.generation != self.hub.generation \
                or self.clock() - entry.computed_at > self.max_age:
            return False
        try:
            news = self.hub.changes_since(entry.seq)
        except Behind:
            return False
        for change in news:
            if change.kind == BULK:
                return False
            if change.kind in depends_on and (viewer_id is None or viewer_id in change.owners):
                return False
        return True

    def clear(self):
        with self._lock:
            self._entries.clear()
