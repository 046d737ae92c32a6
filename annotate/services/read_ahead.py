"""Reading a build's answers on a second connection while the first writes the comparisons.

A build alternates: read a page of answers, make the rows, write them with COPY. PostgreSQL sat idle
while Python read and made rows, about a quarter of a million-comparison build (bench/create_profile.py
`no_writes`). A thread of its own, with its own connection, reads the next pages meanwhile; this
thread still makes every row and every random draw, in the same order, so the rows are the same.

Another connection sees only committed rows, so the build reads ahead only where nothing its reads
depend on can be uncommitted: `answers_readable_elsewhere`, asked before the caller writes anything.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

from django.db import connection

T = TypeVar("T")
# Pages read ahead at most: enough to keep the reader busy, few enough to bound memory (2,000 prompts each).
_AHEAD = 2
_DONE = object()


def answers_readable_elsewhere() -> bool:
    """True on PostgreSQL when this connection's open transaction (if any) has written nothing yet, so
    another connection reads the same answers as this one."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NULL")
        return bool(cursor.fetchone()[0])


def read_ahead_pages(pages: Iterator[T]) -> Iterator[T]:
    """`pages`, produced on a thread (and database connection) of their own, `_AHEAD` at most waiting.

    An error in the reader is raised here; stopping early (an error in the writer) stops the reader.
    """
    waiting: queue.Queue[object] = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the writer, which raises it
            put(exc)
        finally:
            connection.close()  # this thread's own

    reader = threading.Thread(target=read, name="build-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = waiting.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join()
