"""Transactions and row locks: how a service makes its change all-or-nothing.

Every write goes through `write_transaction()`: one transaction (on SQLite a new one,
begun IMMEDIATE; on PostgreSQL the request's read transaction carries on) that commits on
success or rolls back on any exception — so a request that dies mid-transition leaves nothing.
Rows are locked with `lock_one` (SELECT … FOR UPDATE on PostgreSQL; on SQLite the
immediate transaction already holds the database's write lock). A transition's subject is
written by `row_update`: one Core UPDATE of its changed columns, sent with its audit event.
Lock order, to rule out deadlocks: a member's user row (starting a claim: FOR NO KEY UPDATE),
then a task, then any of its claims. A claim transition locks its task only when one of its
effects changes the task (the slot recount: claim, withdraw, reject, expire); the others —
check_in, submit_report, approve, return — lock the claim alone, reading the task with it
(services/subjects.py, ClaimKind.lock). A task transition locks the task, and its cancel then
locks each live claim. Nothing locks a claim and then its task. A registration's triggers
lock the member's user row (FOR NO KEY UPDATE), then the registration, then the grid it names
(FOR KEY SHARE).
"""
from contextlib import contextmanager

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..db_setup import immediate_begin
from ..extensions import db


@contextmanager
def write_transaction():
    session = db.session()  # the current (scoped) Session itself
    if session.in_transaction():
        # A read transaction from earlier in the request or command. Writes happen only
        # inside services, so nothing may be pending; ending it with a commit keeps the
        # objects already loaded (a rollback would expire them all).
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes outside a service transaction: write through workflow.services")
        if session.get_bind().dialect.name != "sqlite":
            # PostgreSQL: carry on in that transaction (READ COMMITTED: every statement sees
            # the latest commits, and row locks work the same), saving the round trip of
            # ending it first. SQLite must end it, so that BEGIN IMMEDIATE comes first.
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            return
        session.commit()
    token = immediate_begin.set(True)
    try:
        with session.begin():
            yield session
    finally:
        immediate_begin.reset(token)


def lock_one(session, model, ident):
    """The row, re-read and locked for this transaction, or None."""
    return session.scalar(
        select(model).where(model.id == ident).with_for_update().execution_options(populate_existing=True)
    )


def row_update(session, row):
    """The Core UPDATE by primary key that writes a loaded row's changed columns, as (statement,
    parameters), and the object marked as stored — what a flush would do, without the unit of
    work's bookkeeping (a large share of a transition's CPU for a single changed row). The caller
    executes it in this transaction: a transition sends its subject's UPDATE with the audit event
    (audit.append's `also`: one round trip on PostgreSQL). None when there is nothing to write, or
    when a flush must do it (a changed relationship, a row not yet inserted, a deleted one)."""
    state = inspect(row)
    if state.key is None or state.deleted or not state.committed_state:
        return None
    mapper = state.mapper
    values = {}
    for key in state.committed_state:
        prop = mapper.attrs.get(key)
        column = getattr(prop, "columns", (None,))[0] if prop is not None else None
        if column is None or column.table is not mapper.local_table:
            return None  # something a flush must handle (a relationship, say): leave it all to the flush
        values[column.name] = state.dict.get(key)
    table = mapper.local_table
    (pk,) = table.primary_key.columns
    prefix = f"row_{table.name}_"
    params = {prefix + name: value for name, value in values.items()}
    params[prefix + "_pk"] = getattr(row, mapper.get_property_by_column(pk).key)
    statement = _update_statement(table, pk, tuple(sorted(values)))
    # As stored: no history left, so a flush (at commit) has nothing to do for this object.
    state._commit_all(state.dict, session.identity_map)
    return statement, params


_UPDATES: dict = {}


def _update_statement(table, pk, names: tuple[str, ...]):
    """UPDATE table SET <names> = :row_<table>_<name> WHERE pk = :row_<table>__pk, built once per table
    and set of columns (the parameters' prefix keeps them apart from the statements it is sent with:
    the event's, another table's UPDATE — a claim's and its task's slot count travel together)."""
    statement = _UPDATES.get((table, names))
    if statement is None:
        prefix = f"row_{table.name}_"
        statement = table.update().where(pk == bindparam(prefix + "_pk")).values(
            {name: bindparam(prefix + name, type_=table.c[name].type) for name in names})
        _UPDATES[(table, names)] = statement
    return statement


def insert_new(session, returning=None, params: dict | None = None) -> dict:
    """Write the objects added to the session (a transition's new subject) by one Core INSERT each
    and make them persistent — as a flush would, without the unit of work — when every column is
    given and no relationship change is pending; otherwise (or for anything else pending) flush.
    `returning` is one more column for each INSERT's RETURNING (a scalar subquery, with its `params`:
    the slot recount's count, services/capacity.py); its value is returned per object so inserted.
    On PostgreSQL such a sub-select sees the tables as they were before the INSERT."""
    extra = {}
    for obj in list(session.new):
        state = inspect(obj)
        mapper = state.mapper
        table = mapper.local_table
        if (any(key in mapper.relationships for key in state.committed_state)
                or len(table.primary_key.columns) != 1 or mapper.inherits is not None):
            break  # a relationship set the usual way, a composite key, inheritance: the flush's work
        (pk,) = table.primary_key.columns
        values = {}
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if column is pk and state.dict.get(prop.key) is None:
                continue
            if prop.key not in state.dict or column.table is not table:
                values = None
                break
            values[column.name] = state.dict[prop.key]
        if values is None:
            break
        if returning is None:
            ident = session.connection().execute(_insert_returning(table, pk), values).scalar_one()
        else:
            ident, extra[obj] = session.connection().execute(_insert_returning(table, pk, returning),
                                                             {**values, **(params or {})}).one()
        session.expunge(obj)
        set_committed_value(obj, mapper.get_property_by_column(pk).key, ident)
        make_transient_to_detached(obj)  # every value given is stored: nothing is pending
        session.add(obj)  # persistent, in the identity map
    session.flush()  # whatever is left (nothing, after a claim's start)
    return extra


_INSERTS: dict = {}


def _insert_returning(table, pk, returning=None):
    """INSERT INTO table … RETURNING pk [, returning], built once per table and extra column."""
    statement = _INSERTS.get((table, returning))
    if statement is None:
        statement = table.insert().returning(pk) if returning is None else table.insert().returning(pk, returning)
        _INSERTS[(table, returning)] = statement
    return statement
