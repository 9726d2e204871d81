"""Connection setup that makes SQLite behave for concurrent writers.

- WAL journal: readers never wait for the writer.
- busy_timeout: a writer waits for the lock instead of failing at once.
- Write transactions start with BEGIN IMMEDIATE (taking the write lock up front), so
  two racing writers queue instead of both reading, then one failing to upgrade its
  lock. Reads keep a plain deferred BEGIN. pysqlite's own transaction handling is
  switched off so that we, not the driver, decide when BEGIN is sent.
PostgreSQL needs none of this: services lock rows with SELECT … FOR UPDATE.
"""
import sqlite3
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

# True inside services.tx.write_transaction(): the next BEGIN on this thread is IMMEDIATE.
immediate_begin: ContextVar[bool] = ContextVar("immediate_begin", default=False)

SQLITE_BUSY_TIMEOUT_MS = 30_000


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we send BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate_begin.get() else "BEGIN")
