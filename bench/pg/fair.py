"""The fair PostgreSQL SQL of the benchmark's reports (bench/pg/README.md,
"Fair SQL"): what a competent PostgreSQL user runs over the tables they keep
for these reports (sql/fair.sql: summary tables refreshed at load, the
transitions with previous-occurrence columns, leads.last_activity_at).

bench/scenarios.py calls these (its Scenario.pg); the naive SQL
(Scenario.pg_naive) stays in scenarios.py over the plain schema. Standard
library only: the functions use the cursor they are given.

    status_counts(cur, org, t0, t1, universe) -> (counts, pairs, summary)
        counts {status_id: {field: n}} (fields of contract section 2 the
        report has), pairs [(from, to, n)], summary [(from, to, n)] or None
        (overall report, t0 = t1 = None); universe: the /*UNIVERSE*/ SQL
        of scenarios._universe (params already hold its parameters)
    nc_sql(aggregate, leads, users, codes_sql, params) -> SQL of Leads Not Contacted
"""

import collections
import os

SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql")

_cache = {}


def _sql(name):
    if name not in _cache:
        with open(os.path.join(SQL_DIR, name)) as f:
            _cache[name] = f.read()
    return _cache[name]


# The current status counts that fair_status_window.sql appends (kind
# 'cur', the count in the suffix_rows column): the summary table, or the
# leads of the universe.
_CURRENT = ("SELECT 'cur', NULL, status_id, NULL, leads, 0, 0, 0, 0, 0, 0 "
            "FROM status_current_counts WHERE org_id = %(org)s")
_UNIVERSE_PREFIX = " AND lead_pk IN (SELECT q.lead_pk FROM leads q WHERE "


# The leads of a text query term, from the side table lead_text_fields.
_TEXT_TERM = ("SELECT lead_pk, status FROM lead_text_fields"
              " WHERE org_id = %(org)s AND field = %(qf)s AND value_ci = lower(%(qv)s)")


def _with_universe(universe, params, sql, current_columns):
    """sql with its /*UNIVERSE*/ filter and /*CURRENT*/ counts read from
    one scan of the universe's leads: WITH u AS MATERIALIZED (lead_pk,
    status of the universe's leads), the filter becoming a semi-join with u
    and the current counts a count of u per status; current_columns: the
    select list of those counts (status and count(*) among them). A text
    term (scenarios._universe: no numeric or boolean alternative) reads
    lead_text_fields, anything else leads with the universe's condition."""
    assert universe.startswith(_UNIVERSE_PREFIX) and universe.endswith(")"), universe
    if ("qf" in params and "qn" not in params and "qb" not in params
            and len(params["qv"].encode()) <= 1000):
        # Index-only scans, cheap enough to read twice (measured: faster
        # than materializing them once).
        return (sql.replace("/*UNIVERSE*/", " AND lead_pk IN (" + _TEXT_TERM.replace(", status", "") + ")")
                .replace("/*CURRENT*/", f"SELECT {current_columns} FROM ({_TEXT_TERM}) u GROUP BY status"))
    leads = "SELECT q.lead_pk, q.status FROM leads q WHERE " + universe[len(_UNIVERSE_PREFIX):-1]
    return (f"WITH u AS MATERIALIZED ({leads})\n"
            + sql.replace("/*UNIVERSE*/", " AND lead_pk IN (SELECT lead_pk FROM u)").replace(
                "/*CURRENT*/", f"SELECT {current_columns} FROM u GROUP BY status"))


def status_counts(cur, org, t0, t1, universe, params):
    counts = collections.defaultdict(lambda: collections.Counter())
    pairs = collections.Counter()
    if t0 is None:
        if universe:
            sql = _with_universe(universe, params, _sql("fair_status_overall_universe.sql"),
                                 "'cur', NULL, status, count(*)::int, 0, 0")
        else:
            sql = _sql("fair_status_overall.sql")
        cur.execute(sql, params)
        for kind, frm, to, n, n_in, n_out in cur.fetchall():
            if kind == "cur":
                counts[to]["ended"] += n
                continue
            if n:
                pairs[(frm, to)] += n
            counts[to]["entered"] += n_in
            if frm is not None:
                counts[frm]["left"] += n_out
        return counts, [(a, b, n) for (a, b), n in pairs.items()], None

    sql = _sql("fair_status_window.sql")
    if universe:
        sql = _with_universe(universe, params, sql, "'cur', NULL, status, NULL, count(*)::int, 0, 0, 0, 0, 0, 0")
    else:
        sql = sql.replace("/*UNIVERSE*/", "").replace("/*CURRENT*/", _CURRENT)
    cur.execute(sql, params)
    delta = collections.Counter()   # rows from T0 on: into S minus out of S
    now = collections.Counter()     # current status counts
    summary = collections.Counter()
    open_leads = 0
    for kind, frm, to, cur_status, rows, n_pair, n_in, n_out, first, last, done in cur.fetchall():
        if kind == "cur":
            now[to] += rows
            continue
        delta[to] += rows
        if frm is not None:
            delta[frm] -= rows
        if kind == "tail":
            continue
        if n_pair:
            pairs[(frm, to)] += n_pair
        counts[to]["entered"] += n_in
        counts[to]["ended"] += last
        if frm is not None:
            counts[frm]["left"] += n_out
            counts[frm]["ended"] -= first
        if done and frm != cur_status:
            summary[(frm, cur_status)] += done
        open_leads += first - done
    if open_leads:
        cur.execute(_sql("fair_status_pairs.sql").replace("/*UNIVERSE*/", universe), params)
        for s0, s1, n in cur.fetchall():
            summary[(s0, s1)] += n
    for s in set(now) | set(delta):
        started = now[s] - delta[s]
        counts[s]["started"] += started
        counts[s]["ended"] += started
    for (s0, s1), n in summary.items():
        if s0 is not None:
            counts[s0]["lost"] += n
        counts[s1]["gained"] += n
    return (counts, [(a, b, n) for (a, b), n in pairs.items()],
            [(a, b, n) for (a, b), n in summary.items()])


# Not contacted in [from, to): decided by leads.last_activity_at (the lead's
# latest activity of any code) except for leads whose latest activity is at
# or after the window's end, which are probed in activities.
_NC_TEST = ("(l.last_activity_at IS NULL OR l.last_activity_at < %(from)s"
            " OR (l.last_activity_at >= %(to)s AND NOT EXISTS (SELECT 1 FROM activities a"
            " WHERE a.org_id = %(org)s AND a.lead_pk = l.lead_pk"
            " AND a.occurred_at >= %(from)s AND a.occurred_at < %(to)s)))")
# With activity codes: the plain probe (last_activity_at is over every code).
_NC_TEST_CODES = ("NOT EXISTS (SELECT 1 FROM activities a WHERE a.org_id = %(org)s AND a.lead_pk = l.lead_pk"
                  " AND a.occurred_at >= %(from)s AND a.occurred_at < %(to)s /*CODES*/)")


# scenarios._nc_filters' lead filter (LeadFilters Source = value).
_NC_SOURCE_FILTER = " AND l.fields->>'Source' = %(source)s"


def nc_sql(aggregate, leads, users, codes_sql, params):
    test = _NC_TEST_CODES.replace("/*CODES*/", codes_sql) if codes_sql else _NC_TEST
    if leads == _NC_SOURCE_FILTER and len(params["source"].encode()) <= 1000:
        table, leads = "lead_field_list", " AND l.field = 'Source' AND l.value = %(source)s"
    else:
        table, leads = "leads", " AND NOT l.deleted" + leads
    sql = _sql("fair_nc_aggregate.sql" if aggregate else "fair_nc_list.sql")
    return (sql.replace("/*FROM*/", table).replace("/*LEADS*/", leads).replace("/*USERS*/", users)
            .replace("/*NC*/", test))
