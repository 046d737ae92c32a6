"""core.statements: an ORM statement compiled once and run again with new values."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.contrib.auth.models import Permission, User
from django.db.models import Count, F, Max, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.statements import QueryStatement, Statement, StatementShapeError, WriteStatement


def _users_from(values):
    return lambda: User.objects.filter(pk__gte=values["low"]).aggregate(n=Count("pk"), top=Max("pk"))


@pytest.mark.django_db
def test_a_statement_gives_what_the_orm_gives_for_each_new_value():
    users = [User.objects.create(username=f"u{i}") for i in range(5)]
    statement = Statement(_users_from, ints=("low",))
    for user in [*users, users[2]]:
        assert statement.row("users", low=user.pk) == _users_from({"low": user.pk})()


@pytest.mark.django_db
def test_a_datetime_value_is_bound_like_the_orm_binds_it():
    now = timezone.now()
    for i in range(4):
        User.objects.create(username=f"u{i}", date_joined=now - timedelta(days=i))

    def build(values):
        return lambda: User.objects.aggregate(n=Count("pk", filter=Q(date_joined__gte=values["since"])))

    statement = Statement(build, datetimes=("since",))
    for days in (0, 1, 2, 10):
        since = now - timedelta(days=days, seconds=1)
        assert statement.row("joined", since=since) == build({"since": since})() == {"n": min(days + 1, 4)}


@pytest.mark.django_db
def test_a_build_that_writes_a_value_into_the_sql_text_is_refused():
    def build(values):
        inlined = RawSQL(f"SELECT {values['low']}", ())  # the refusal is the point
        return lambda: User.objects.filter(pk__gte=inlined).aggregate(n=Count("pk"))

    with pytest.raises(StatementShapeError, match="low"):
        Statement(build, ints=("low",)).row("inlined", low=1)


@pytest.mark.django_db
def test_a_build_that_runs_two_statements_is_refused():
    def build(values):
        return lambda: (User.objects.filter(pk=values["low"]).count(), User.objects.count())

    with pytest.raises(StatementShapeError, match="2 statements"):
        Statement(build, ints=("low",)).row("two", low=1)


@pytest.mark.django_db
def test_values_must_be_named_as_the_markers():
    with pytest.raises(TypeError, match="low"):
        Statement(_users_from, ints=("low",)).row("users", high=1)


def _permissions_from(values):
    return (
        Permission.objects.filter(pk__gte=values["low"])
        .select_related("content_type")
        .annotate(twice=F("pk") * 2)
        .order_by("pk")
    )


@pytest.mark.django_db
def test_a_query_statement_builds_the_instance_the_orm_builds(django_assert_num_queries):
    statement = QueryStatement(_permissions_from, ints=("low",))
    pks = list(Permission.objects.order_by("pk").values_list("pk", flat=True))
    for low in (pks[0], pks[len(pks) // 2], pks[-1]):
        want = _permissions_from({"low": low}).first()
        with django_assert_num_queries(1):
            got = statement.first("permissions", low=low)
            assert got.content_type.model == want.content_type.model  # came with it
        assert (got.pk, got.codename, got.twice, got.content_type_id) == (
            want.pk,
            want.codename,
            want.twice,
            want.content_type_id,
        )
        assert got._state.adding is False and got._state.db == "default"
    assert statement.first("permissions", low=pks[-1] + 1) is None


@pytest.mark.django_db
def test_a_query_statement_needs_an_ordered_plain_queryset():
    unordered = QueryStatement(
        lambda v: Permission.objects.filter(pk__gte=v["low"]).order_by(), ints=("low",)
    )
    with pytest.raises(StatementShapeError, match="ordered"):
        unordered.first("unordered", low=1)
    rows = QueryStatement(
        lambda v: Permission.objects.filter(pk__gte=v["low"]).values("pk").order_by("pk"), ints=("low",)
    )
    with pytest.raises(StatementShapeError, match="plain"):
        rows.first("values", low=1)


@pytest.mark.django_db
def test_a_write_statement_records_without_writing_and_then_writes_with_each_new_value():
    users = [User.objects.create(username=f"w{i}", last_name="") for i in range(3)]

    def build(values):
        return lambda: User.objects.filter(pk=values["user"]).update(last_login=values["when"], is_staff=True)

    statement = WriteStatement(build, ints=("user",), datetimes=("when",))
    when = timezone.now().replace(microsecond=0)
    assert statement.execute("staff", user=users[1].pk, when=when) == 1
    assert statement.execute("staff", user=10**9, when=when) == 0
    rows = {u.username: (u.is_staff, u.last_login) for u in User.objects.all()}
    assert rows == {"w0": (False, None), "w1": (True, when), "w2": (False, None)}


@pytest.mark.django_db
def test_recording_an_insert_leaves_no_row_behind():
    def build(values):
        return lambda: User.objects.bulk_create([User(pk=values["n"], username="made")])

    statement = WriteStatement(build, ints=("n",))
    statement.execute("insert", n=7)
    assert list(User.objects.values_list("pk", "username")) == [(7, "made")]


@pytest.mark.django_db
def test_a_write_build_that_runs_two_statements_is_refused():
    def build(values):
        def run():
            User.objects.filter(pk=values["user"]).update(is_staff=True)
            User.objects.filter(pk=values["user"]).update(is_active=False)

        return run

    with pytest.raises(StatementShapeError):
        WriteStatement(build, ints=("user",)).execute("two", user=1)


@pytest.mark.django_db
def test_a_chained_write_build_is_one_statement_on_postgresql_and_refused_elsewhere(
    django_assert_num_queries,
):
    from django.db import connection

    users = [User.objects.create(username=f"c{i}") for i in range(2)]

    def build(values):
        def run():
            User.objects.filter(pk=values["user"]).update(is_staff=True)
            User.objects.filter(pk=values["other"]).update(is_active=False)

        return run

    statement = WriteStatement(build, ints=("user", "other"), chain=True)
    if connection.vendor != "postgresql":
        with pytest.raises(StatementShapeError):
            statement.execute("two", user=users[0].pk, other=users[1].pk)
        return
    statement.execute("two", user=users[0].pk, other=users[1].pk)  # recorded on first use
    User.objects.update(is_staff=False, is_active=True)
    with django_assert_num_queries(1):
        statement.execute("two", user=users[1].pk, other=users[0].pk)
    rows = dict(User.objects.values_list("username", "is_staff"))
    active = dict(User.objects.values_list("username", "is_active"))
    assert rows == {"c0": False, "c1": True} and active == {"c0": False, "c1": True}


@pytest.mark.django_db
def test_a_generic_plan_statement_is_never_planned_for_its_values_on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    if connection.settings_dict["OPTIONS"].get("prepare_threshold") is None:
        pytest.skip("statements are not prepared (DATABASE_PREPARED=0)")
    users = [User.objects.create(username=f"g{i}") for i in range(3)]

    def build(values, name):
        # A distinct text per statement (its column's name), to find each among the prepared ones.
        return lambda: User.objects.filter(pk__gte=values["low"]).aggregate(**{name: Count("pk")})

    tagged = {
        generic: Statement(partial(build, name=f"plan_{generic}"), ints=("low",), generic_plan=generic)
        for generic in (True, False)
    }
    # The default one first: the setting holds to the end of the (test's) transaction.
    for generic in (False, True):
        for _ in range(12):
            assert tagged[generic].row(("plans", generic), low=users[0].pk) == {f"plan_{generic}": 3}
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        plans = {("plan_True" in sql, "plan_False" in sql): (g, c) for sql, g, c in cursor.fetchall()}
    forced, default = plans[(True, False)], plans[(False, True)]
    assert forced[0] > 0 and forced[1] == 0
    # Without it, PostgreSQL plans the first runs of a prepared statement for their values.
    assert default[1] > 0
