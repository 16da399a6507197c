"""The benchmark's query scenarios, shared by the orchestrator (bench/run.py)
and the PostgreSQL baseline (bench/pg/).

    scenarios(org, end_date) -> list[Scenario]

Each Scenario is one report request with the period ending at the start of
end_date (UTC, 'YYYY-MM-DD'):

    name                   e.g. 'status_90d'
    kind                   'close' (API key auth) or 'lsq' (LeadSquared key pair)
    method, path, headers, body
                           the leadflow HTTP request without credentials: path
                           includes the query string, body is a str or None;
                           add auth_headers(kind, credential) to headers
    pg(conn)               runs the report's fair SQL (bench/pg/fair.py: over the
                           tables a competent user derives at load) on a psycopg2
                           connection to the baseline (bench/pg/pgbase.py)
                           -> normalized result
    pg_naive(conn)         the same from the naive SQL over the plain schema
    normalize_leadflow(j)  leadflow's JSON response (parsed) -> normalized result

Normalized results of both sides compare with ==:
  status report: {'overview': [(status_id, label, is_deleted, {field: n})...]
                  in report order, 'transitions': sorted [(from_id, to_id, n)],
                  'summary': sorted [(from_id, to_id, n)] or None (overall)}
                  (_queries and _leads_page_urls are left out)
  NotContacted:  {'total': TotalCount, 'rows': [tuple of column values]}

Standard library only (the pg functions use the connection they are given).
"""

import dataclasses
import datetime
import importlib.util
import json
import os
import urllib.parse
from typing import Any, Callable, Optional

SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pg", "sql")

# The Close report fields compared per status row; absent ones (the overall
# report's started, change, change_percent, gained, lost) stay absent.
STATUS_FIELDS = ("started", "ended", "change", "change_percent", "gained", "lost", "entered", "left")

# Scenario parameters.
QUERY_FIELD, QUERY_VALUE = "Source", "web"          # Close query "Source":"web"
NC_SOURCE = "web"                                   # LeadFilters Source = web
NC_ROLE = "Sales User"                              # UserFilter Role eq Sales User
NC_COLUMNS = ("ProspectID", "OwnerId", "CreatedOn")
NC_WINDOW_DAYS = 30
NC_PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    kind: str                      # 'close' | 'lsq'
    method: str
    path: str
    headers: dict
    body: Optional[str]
    pg: Callable[[Any], Any]
    normalize_leadflow: Callable[[Any], Any]
    pg_naive: Optional[Callable[[Any], Any]] = None


def auth_headers(kind, credential):
    """Headers that authenticate a request of this kind for one entry of the
    credentials file ({"org_id","api_key","lsq_access_key","lsq_secret_key"})."""
    if kind == "close":
        return {"Authorization": "Bearer " + credential["api_key"]}
    return {"x-LSQ-AccessKey": credential["lsq_access_key"], "x-LSQ-SecretKey": credential["lsq_secret_key"]}


# --- SQL ---------------------------------------------------------------------

_sql_cache = {}


def _sql(name):
    if name not in _sql_cache:
        with open(os.path.join(SQL_DIR, name)) as f:
            _sql_cache[name] = f.read()
    return _sql_cache[name]


_fair_module = None


def _fair():
    """bench/pg/fair.py (loaded by path: bench/pg is not a package)."""
    global _fair_module
    if _fair_module is None:
        spec = importlib.util.spec_from_file_location(
            "leadflow_pg_fair", os.path.join(os.path.dirname(SQL_DIR), "fair.py"))
        _fair_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_fair_module)
    return _fair_module


def _instant(day):
    """'YYYY-MM-DD' -> that UTC midnight as an RFC 3339 literal for SQL."""
    return day + "T00:00:00Z"


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and text.lower().lstrip("+-") not in ("nan", "inf", "infinity")


def _universe(query_term):
    """The /*UNIVERSE*/ filter on transitions for an optional Close field term
    "field":"value" on the lead's current fields (contract 2a): text equals
    text case-insensitively (ASCII: the database collation is C), a number
    equals the value read as a number, a boolean equals true/false."""
    if query_term is None:
        return "", {}
    field, value = query_term
    params = {"qf": field, "qv": value}
    if not _is_number(value) and value.lower() not in ("true", "false"):
        # Only a text value can equal such a value in lower case: one
        # expression, the one of the index leads_org_source_ci.
        cond = "lower(q.fields->>%(qf)s) = lower(%(qv)s)"
    else:
        alternatives = ["(jsonb_typeof(q.fields->%(qf)s) = 'string' AND lower(q.fields->>%(qf)s) = lower(%(qv)s))"]
        if _is_number(value):
            alternatives.append("(jsonb_typeof(q.fields->%(qf)s) = 'number' AND (q.fields->>%(qf)s)::numeric = %(qn)s)")
            params["qn"] = value
        if value in ("true", "false"):
            alternatives.append("(q.fields->%(qf)s = %(qb)s::jsonb)")
            params["qb"] = value
        cond = "(" + " OR ".join(alternatives) + ")"
    sql = (" AND lead_pk IN (SELECT q.lead_pk FROM leads q WHERE q.org_id = %(org)s AND NOT q.deleted AND "
           + cond + ")")
    return sql, params


def _change_percent(started, change):
    if started == 0:
        return None
    rounded = (2 * 100 * abs(change) + started) // (2 * started)
    return -rounded if change < 0 else rounded


def status_report_pg(conn, org, t0=None, t1=None, query_term=None, naive=False):
    """The Close lead status change report from the baseline, normalized.
    t0/t1: RFC 3339 instants of the half-open period [t0, t1); both None for
    the overall report. query_term: optional (field, value) Close field term.
    naive: the naive SQL over the plain schema instead of the fair SQL."""
    universe, params = _universe(query_term)
    params.update(org=org, t0=t0, t1=t1)
    cur = conn.cursor()
    cur.execute(_sql("statuses.sql"), params)
    statuses = cur.fetchall()
    overall = t0 is None
    counts = {sid: dict.fromkeys(("started", "ended", "entered", "left", "gained", "lost"), 0)
              for sid, _, _ in statuses}

    def row(sid):
        return counts.setdefault(sid, dict.fromkeys(("started", "ended", "entered", "left", "gained", "lost"), 0))

    summary = None
    if not naive:
        fair_counts, transitions, summary = _fair().status_counts(cur, org, t0, t1, universe, params)
        for sid, c in fair_counts.items():
            r = row(sid)
            for k, n in c.items():
                r[k] += n
    elif overall:
        cur.execute(_sql("status_current.sql").replace("/*UNIVERSE*/", universe), params)
        for sid, n in cur.fetchall():
            row(sid)["ended"] = n
    else:
        cur.execute(_sql("status_period.sql").replace("/*UNIVERSE*/", universe), params)
        summary = []
        for s0, s1, n in cur.fetchall():
            if s0 is not None:
                row(s0)["started"] += n
            row(s1)["ended"] += n
            if s0 != s1:
                if s0 is not None:
                    row(s0)["lost"] += n
                row(s1)["gained"] += n
                summary.append((s0, s1, n))
    if naive:
        window = "AND occurred_at >= %(t0)s AND occurred_at < %(t1)s" if not overall else ""
        cur.execute(_sql("status_window.sql").replace("/*WINDOW*/", window).replace("/*UNIVERSE*/", universe),
                    params)
        transitions = []
        for kind, a, b, n in cur.fetchall():
            if kind == "pair":
                transitions.append((a, b, n))
            elif kind == "entered":
                row(b)["entered"] = n
            else:
                row(a)["left"] = n
    cur.close()

    return assemble_status_report(statuses, counts, transitions, summary, overall)


def assemble_status_report(statuses, counts, transitions, summary, overall):
    """The normalized report from per-status counts (started, ended, entered,
    left, gained, lost) and the transition and summary pairs, as every engine
    computes them: rows of live statuses in status order, then deleted ones
    with a non-zero count (contract section 2)."""
    rows_live, rows_deleted = [], []
    for sid, label, deleted in statuses:
        c = counts[sid]
        if overall:
            fields = {"ended": c["ended"], "entered": c["entered"], "left": c["left"]}
        else:
            change = c["ended"] - c["started"]
            fields = {"started": c["started"], "ended": c["ended"], "change": change,
                      "change_percent": _change_percent(c["started"], change),
                      "gained": c["gained"], "lost": c["lost"], "entered": c["entered"], "left": c["left"]}
        entry = (sid, label, bool(deleted), fields)
        if not deleted:
            rows_live.append(entry)
        elif any(c[k] for k in ("started", "ended", "gained", "lost", "entered", "left")):
            rows_deleted.append(entry)
    return {"overview": rows_live + rows_deleted,
            "transitions": _sorted_pairs(transitions),
            "summary": None if summary is None else _sorted_pairs(summary)}


def _sorted_pairs(pairs):
    return sorted(pairs, key=lambda p: (p[0] is not None, p[0] or "", p[1], p[2]))


def normalize_status_report(j):
    """leadflow's (Close-compatible) report JSON -> the normalized form."""
    overview = []
    for r in j["status_overview"]:
        overview.append((r["status_id"], r["status_label"], r["status_is_deleted"],
                         {k: r[k] for k in STATUS_FIELDS if k in r}))
    transitions = [(t["from_status_id"], t["to_status_id"], t["count"]) for t in j["status_transitions"]]
    summary = None
    if "status_transitions_summary" in j:
        summary = [(t["from_status_id"], t["to_status_id"], t["count"]) for t in j["status_transitions_summary"]]
        summary = _sorted_pairs(summary)
    return {"overview": overview, "transitions": _sorted_pairs(transitions), "summary": summary}


def _nc_filters(source, role_values, codes):
    """The /*LEADS*/, /*USERS*/, /*CODES*/ parts of nc_*.sql and their params."""
    # LeadFilters {"LookUpName": "Source", "LookUpValues": [source], "SqlOperator": "="}:
    # the value equals exactly (case-sensitive; index leads_org_source).
    leads = " AND l.fields->>'Source' = %(source)s"
    # UserFilter {"LookupName": "Role", "Operator": "eq", "LookupValue": v}: the
    # user's attribute (field key matched case-insensitively, the bytewise first
    # such key with a non-null value) equals one of the comma-separated values.
    users = (" AND (SELECT kv.value #>> '{}' FROM jsonb_each(u.fields) kv"
             " WHERE lower(kv.key) = 'role' AND jsonb_typeof(kv.value) <> 'null'"
             " ORDER BY kv.key LIMIT 1) = ANY(%(roles)s)")
    code_sql = " AND a.code = ANY(%(codes)s)" if codes else ""
    return leads, users, code_sql, {"source": source, "roles": list(role_values), "codes": list(codes)}


def nc_pg(conn, org, window_from, window_to, aggregate, page_index=1, page_size=NC_PAGE_SIZE,
          source=NC_SOURCE, role=NC_ROLE, codes=(), naive=False):
    """Leads Not Contacted from the baseline, normalized. The activity window
    is [window_from, window_to) (RFC 3339 instants). naive: the naive SQL."""
    leads, users, code_sql, params = _nc_filters(source, [v.strip() for v in role.split(",")], codes)
    params.update(org=org, **{"from": window_from, "to": window_to},
                  limit=page_size, offset=(page_index - 1) * page_size)
    if naive:
        sql = _sql("nc_aggregate.sql" if aggregate else "nc_list.sql")
        sql = sql.replace("/*LEADS*/", leads).replace("/*USERS*/", users).replace("/*CODES*/", code_sql)
    else:
        sql = _fair().nc_sql(aggregate, leads, users, code_sql, params)
    cur = conn.cursor()
    cur.execute(sql, params)
    result = cur.fetchall()
    if result:
        total = result[0][-1]
    elif params["offset"] == 0:
        total = 0
    else:  # a page past the end: count on its own
        cur.execute("SELECT count(*) FROM (" + sql.rstrip().rstrip(";").rsplit("LIMIT", 1)[0] + ") t",
                    params)
        total = cur.fetchone()[0]
    cur.close()
    return {"total": total, "rows": [tuple(r[:-1]) for r in result]}


def normalize_nc_list(j, columns=NC_COLUMNS):
    return {"total": int(j["TotalCount"]), "rows": [tuple(r.get(c) for c in columns) for r in j["Results"]]}


def normalize_nc_aggregate(j, group_by="OwnerId", function="Count"):
    return {"total": int(j["TotalCount"]), "rows": [(r.get(group_by), r.get(function)) for r in j["Results"]]}


# --- the scenarios -----------------------------------------------------------

def _minus_days(day, n):
    return (datetime.date.fromisoformat(day) - datetime.timedelta(days=n)).isoformat()


def _status_scenario(name, org, end_date, days, query_term):
    params = {}
    if days is not None:
        params["date_start"] = _minus_days(end_date, days)
        params["date_end"] = end_date
    if query_term is not None:
        params["query"] = json.dumps(query_term[0]) + ":" + json.dumps(query_term[1])
    path = f"/api/v1/report/statuses/lead/{urllib.parse.quote(org, safe='')}/"
    if params:
        path += "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    t0 = _instant(params["date_start"]) if days is not None else None
    t1 = _instant(end_date) if days is not None else None
    return Scenario(
        name=name, kind="close", method="GET", path=path, headers={}, body=None,
        pg=lambda conn: status_report_pg(conn, org, t0, t1, query_term),
        normalize_leadflow=normalize_status_report,
        pg_naive=lambda conn: status_report_pg(conn, org, t0, t1, query_term, naive=True))


def _nc_body(end_date, aggregate):
    first = _minus_days(end_date, NC_WINDOW_DAYS)
    last_second = (datetime.datetime.fromisoformat(end_date) - datetime.timedelta(seconds=1)).strftime(
        "%Y-%m-%d %H:%M:%S")
    body = {
        "ReportFilter": {
            "UserFilter": {"GroupConditions": [{"Condition": [
                {"LookupName": "Role", "Operator": "eq", "LookupValue": NC_ROLE}]}]},
            "LeadFilters": [{"LookUpName": "Source", "LookUpValues": [NC_SOURCE], "SqlOperator": "="}],
        },
        "DateFilter": [{"DateField": "ActivityDate", "FromDate": first + " 00:00:00", "ToDate": last_second}],
        "Paging": {"PageIndex": 1, "PageSize": NC_PAGE_SIZE},
    }
    if aggregate:
        body["Output"] = {"Type": "Aggregate", "GroupBy": "OwnerId", "AggregateFunction": "Count"}
    else:
        body["Output"] = {"Type": "List", "IncludeCSV": ",".join(NC_COLUMNS)}
    return json.dumps(body, separators=(",", ":")), _instant(first), _instant(end_date)


def _nc_scenario(name, org, end_date, aggregate):
    body, w0, w1 = _nc_body(end_date, aggregate)
    return Scenario(
        name=name, kind="lsq", method="POST", path="/Leads/NotContacted",
        headers={"Content-Type": "application/json"}, body=body,
        pg=lambda conn: nc_pg(conn, org, w0, w1, aggregate),
        normalize_leadflow=normalize_nc_aggregate if aggregate else normalize_nc_list,
        pg_naive=lambda conn: nc_pg(conn, org, w0, w1, aggregate, naive=True))


def scenarios(org, end_date):
    """The benchmark's report scenarios for org, periods ending at the start
    of end_date ('YYYY-MM-DD', UTC)."""
    datetime.date.fromisoformat(end_date)  # validates
    term = (QUERY_FIELD, QUERY_VALUE)
    return [
        _status_scenario("status_overall", org, end_date, None, None),
        _status_scenario("status_7d", org, end_date, 7, None),
        _status_scenario("status_90d", org, end_date, 90, None),
        _status_scenario("status_365d", org, end_date, 365, None),
        _status_scenario("status_7d_query", org, end_date, 7, term),
        _status_scenario("status_365d_query", org, end_date, 365, term),
        _nc_scenario("nc_list_30d", org, end_date, aggregate=False),
        _nc_scenario("nc_aggregate_owner", org, end_date, aggregate=True),
    ]
