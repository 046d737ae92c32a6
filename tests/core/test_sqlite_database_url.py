"""Finding 5: DATABASE_URL=sqlite:///... gets the same WAL / IMMEDIATE / busy-timeout options as the
embedded default, so concurrent writers wait for the lock instead of failing with 500s."""

from pathlib import Path

from tests.core.test_settings_module import run_django

# Ten threads, each a read-then-write transaction: SQLite's default DEFERRED mode cannot upgrade a
# read lock while another writer holds the database and fails at once with "database is locked",
# whatever the timeout; IMMEDIATE takes the write lock up front and waits for it.
CONCURRENT_WRITES = """
import threading, time
from django.db import connection, connections, transaction
with connection.cursor() as c:
    c.execute('CREATE TABLE IF NOT EXISTS t (n INTEGER)')
c = connection.cursor(); c.execute('PRAGMA journal_mode'); print('mode', c.fetchone()[0])
errors = []
def work():
    try:
        for _ in range(5):
            with transaction.atomic():
                with connection.cursor() as c:
                    c.execute('SELECT COUNT(*) FROM t'); n = c.fetchone()[0]
                    time.sleep(0.01)
                    c.execute('INSERT INTO t VALUES (%s)', [n])
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connections.close_all()
threads = [threading.Thread(target=work) for _ in range(10)]
[t.start() for t in threads]; [t.join() for t in threads]
with connection.cursor() as c:
    c.execute('SELECT COUNT(*) FROM t'); print('rows', c.fetchone()[0])
print('errors', len(errors), errors[:1])
"""


def test_concurrent_writers_on_a_file_sqlite_named_through_database_url_all_succeed(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'through-url.sqlite3'}"
    result = run_django(CONCURRENT_WRITES, {"DATABASE_URL": url}, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert lines["mode"] == "wal"
    assert lines["errors"].startswith("0 "), lines["errors"]
    assert lines["rows"] == "50"


def test_database_url_sqlite_keeps_the_embedded_defaults_sqlite_options(tmp_path: Path):
    code = (
        "from django.conf import settings; o = settings.DATABASES['default']['OPTIONS']\n"
        "print(o['transaction_mode'], o['timeout'], 'WAL' in o['init_command'])"
    )
    result = run_django(code, {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["IMMEDIATE", "20", "True"]
