"""Queries of one shape run with other values: their SQL is written once.

peewee writes a query's SQL anew every time it runs it, and for a select of
twenty columns over four tables that takes it longer (one to two
milliseconds) than SQLite takes to answer. A board runs one query per column
that differs only in the column; the contact card and every signed-in page run
the same few queries on every visit. A `Prepared` query is written once per
kind of database, with marker numbers where its parameters go, and each run
puts the real values in their places.

Only for queries whose shape never depends on the values: no `== None` (peewee
writes IS NULL), no lists of varying length, no branches on the values. A
query with a few such choices (of a contact or of a company, with a `before`
or without) is a `PreparedShapes`: one `Prepared` per choice.
"""
import functools

from .db import database

# Integers no id, limit or offset ever is: the markers of the parameters.
MARKER = -7_354_001_000


class Prepared:
    """`Prepared(build, count)(*values)`: the rows of `build(*values)`, whose SQL
    is written once (per kind of database) from `build(*markers)`."""

    def __init__(self, build, count=1):
        self._build = build
        self._markers = tuple(MARKER - n for n in range(count))
        self._written = {}  # database class -> (query, sql, params, places of each value)

    def _write(self):
        query = self._build(*self._markers)
        sql, params = query.sql()
        places = [[i for i, value in enumerate(params)
                   if type(value) is int and value == marker] for marker in self._markers]
        if not all(places):
            raise ValueError("a parameter of the prepared query did not reach its SQL")
        return query, sql, params, places

    def __call__(self, *values):
        kind = type(database.obj)
        written = self._written.get(kind)
        if written is None:
            written = self._written[kind] = self._write()
        query, sql, params, places = written
        params = list(params)
        for value, where in zip(values, places):
            for index in where:
                params[index] = value
        return list(query._get_cursor_wrapper(database.execute_sql(sql, params)))


class PreparedShapes:
    """`PreparedShapes(build)(shape, *values)`: the rows of `build(shape, *values)`, one
    `Prepared` query for each `shape` (a hashable naming the choices the query's shape
    depends on) and each set of values that are None (a `before` not given, say: the
    build leaves its condition out), written when first asked for."""

    def __init__(self, build):
        self._build = build
        self._prepared = {}

    def __call__(self, shape, *values):
        given = tuple(value is not None for value in values)
        prepared = self._prepared.get((shape, given))
        if prepared is None:
            prepared = self._prepared[shape, given] = Prepared(
                functools.partial(self._build_given, shape, given), sum(given))
        return prepared(*(value for value in values if value is not None))

    def _build_given(self, shape, given, *markers):
        markers = iter(markers)
        return self._build(shape, *(next(markers) if present else None for present in given))


_BY_ID = {}  # model -> its Prepared read of one row by id


def row_by_id(model, key):
    """The row of `model` whose id is `key`, as `model.select()` sees it (a record
    model leaves deleted rows out), or None; its SQL is written once per model."""
    prepared = _BY_ID.get(model)
    if prepared is None:
        prepared = _BY_ID[model] = Prepared(
            lambda marker: model.select().where(model.id == marker).limit(1))
    rows = prepared(key)
    return rows[0] if rows else None


def key_of(row):
    """The id of a row, or the id itself."""
    return getattr(row, "id", row)


def whose(contact, company):
    """(True, the contact's id) when `contact` is given, else (False, the company's id):
    the shape and the key of a PreparedShapes read of one contact's or one company's
    rows (a card's timeline)."""
    return (True, key_of(contact)) if contact is not None else (False, key_of(company))
