"""What the embedded peers (DuckDB, chdb) share: the SQL file format, the
load driver with its timings, the answer to a leadflow report request, and
the timing loop.

A peer is a subclass of Peer that knows its engine: how to open it with the
benchmark's settings, run one statement (`execute`) or fetch rows (`rows`),
and write a value as an SQL literal (`literal`). Everything else is here and
the same for every engine:

    peer = duckdb_peer.DuckDBPeer(path)      # or chdb_peer.ChdbPeer(path)
    stats = peer.load("events.ndjson")       # replaces the data; timings, counts
    result = peer.answer(scenario)           # a bench/scenarios.py Scenario ->
                                             # the normalized result, == leadflow's
    peer.close()

`answer` reads the report parameters from the scenario's leadflow request
(path, query string, body), so a peer answers exactly what leadflow is asked,
and the equality checks (bench/run.py, bench/peers/check.py) need nothing but
the request. It supports what the benchmark and the checks send (see
bench/peers/README.md, "Requests"); anything else raises Unsupported.

The SQL lives in bench/peers/sql/<engine>/*.sql (and sql/shared/*.sql for
the queries both engines run unchanged). A file is a sequence of
statements, each ending with a line that ends in ';'; a line `-- step: NAME`
starts a timed load step. `$name` is replaced by the literal of parameter
name (every name used must be given), `/*NAME*/` by a fragment built here.
"""

import datetime
import json
import os
import re
import sys
import time
import urllib.parse

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, BENCH)

import scenarios  # noqa: E402  (bench/scenarios.py: normalization helpers)

SQL_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql")

# The benchmark's settings for every peer: the machine has 2 cores and
# 23 GiB; PostgreSQL gets 4 GB of shared buffers and 256 MB per sort.
THREADS = 2
MEMORY_LIMIT_BYTES = 8 << 30

# Instants are epoch milliseconds (BIGINT / Int64) in every peer; "valid
# until further notice" is the largest one, "since forever" the smallest.
INF = (1 << 63) - 1
NEG_INF = -(1 << 63)

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# Peer.apply_batch(): the batch is parsed by load.sql into tables of its own,
# and derive.sql's lead steps run on the touched leads' events into d_*
# tables (a name is replaced where it is a whole word).
BATCH_LOAD_RENAMES = {"raw": "b_raw", "events": "b_events", "load_stats": "b_stats"}
BATCH_DERIVE_RENAMES = {"events": "tev", "lead_created": "d_lead_created", "lead_events": "d_lead_events",
                        "transitions": "d_transitions", "activities": "d_activities", "leads": "d_leads",
                        "overall_counts": "d_overall_counts"}


def _renamed(sql, names):
    return re.sub(r"\b(" + "|".join(names) + r")\b", lambda m: names[m.group(1)], sql)


class Unsupported(Exception):
    """A request the peers do not translate (not sent by the benchmark)."""


def ascii_lower(text):
    """Lower case of ASCII letters only (contract 2a: case-insensitive means ASCII)."""
    return text.translate(_ASCII_LOWER)


def epoch_ms(text):
    """'YYYY-MM-DD' (UTC midnight) or an RFC 3339 instant -> epoch milliseconds
    (a finer fraction is truncated)."""
    if len(text) == 10:
        text += "T00:00:00Z"
    m = re.match(r"^(.{19})(\.\d+)?(Z|[+-]\d\d:\d\d)$", text.replace("z", "Z"))
    if not m:
        raise Unsupported(f"instant {text!r}")
    base = datetime.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    ms = int((m.group(2) or ".0")[1:4].ljust(3, "0"))
    return int(base.timestamp()) * 1000 + ms


def read_statements(engine, filename):
    """[(step, [statement, ...])] of sql/<engine>/<filename>, else of
    sql/shared/<filename> (SQL both engines run as it is; see the module doc)."""
    path = os.path.join(SQL_ROOT, engine, filename)
    if not os.path.exists(path):
        path = os.path.join(SQL_ROOT, "shared", filename)
    with open(path) as f:
        text = f.read()
    steps, stmt = [], []
    for line in text.splitlines():
        m = re.match(r"^-- step: (\S+)", line)
        if m:
            steps.append((m.group(1), []))
            continue
        stmt.append(line)
        if line.rstrip().endswith(";") and not line.lstrip().startswith("--"):
            sql = "\n".join(stmt).strip()
            if not steps:
                steps.append((filename, []))
            steps[-1][1].append(sql)
            stmt = []
    return steps


class Peer:
    """An embedded engine loaded with the benchmark's stream. Subclasses set
    `engine` (the folder under sql/) and `label`, and implement `execute`,
    `rows`, `literal`, `close` and `_ingest_raw`. Not thread-safe: one
    caller at a time."""

    engine = None
    label = None

    # ---- to implement ----------------------------------------------------
    def execute(self, sql):
        raise NotImplementedError

    def rows(self, sql):
        """The result rows of one query as tuples (NULL as None)."""
        raise NotImplementedError

    def literal(self, value):
        """value (None, bool, int, str, or a list of str) as an SQL literal."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, (list, tuple)):
            return "(" + ", ".join(self.literal(v) for v in value) + ")" if value else "(NULL)"
        return self.quote(str(value))

    def quote(self, text):
        """A string literal of the engine's dialect."""
        raise NotImplementedError

    def close(self):
        raise NotImplementedError

    def size_bytes(self):
        """Bytes the engine's files take on disk after the load."""
        return None

    # ---- SQL files -------------------------------------------------------
    def sql(self, filename, fragments=None, **params):
        """The statements of one file as one string, parameters substituted."""
        statements = [s for _, group in read_statements(self.engine, filename) for s in group]
        return self._bind(";\n".join(s.rstrip().rstrip(";") for s in statements), fragments, params)

    def _bind(self, sql, fragments, params):
        for name, fragment in (fragments or {}).items():
            sql = sql.replace(f"/*{name}*/", fragment)

        def sub(m):
            if m.group(1) not in params:
                raise KeyError(f"{self.engine} SQL parameter ${m.group(1)} not given")
            return self.literal(params[m.group(1)])

        return re.sub(r"\$([a-z_][a-z0-9_]*)\b", sub, sql)

    # ---- load ------------------------------------------------------------
    def load(self, ndjson, log=None):
        """Loads the NDJSON file, replacing what was there: load.sql (parse,
        type, dedup: the events), then derive.sql (the reporting tables).
        Returns seconds (wall, all), load_seconds, derive_seconds,
        cpu_seconds (this process, all threads), load_cpu_seconds,
        derive_cpu_seconds, steps {name: seconds}, lines, events (distinct),
        duplicates, events_per_s (lines / wall seconds), bytes, file_bytes."""
        log = log or (lambda msg: None)
        steps = {}
        params = {"path": os.path.abspath(ndjson)}

        def run(filename):
            wall, cpu = time.perf_counter(), time.process_time()
            for name, statements in read_statements(self.engine, filename):
                t = time.perf_counter()
                for s in statements:
                    self.execute(self._bind(s, None, params))
                steps[name] = round(time.perf_counter() - t, 3)
                log(f"  {self.label} {name}: {steps[name]:.2f} s")
            return time.perf_counter() - wall, time.process_time() - cpu

        self.reset()
        load_s, load_cpu = run("load.sql")
        derive_s, derive_cpu = run("derive.sql")
        lines, events = self.rows("SELECT (SELECT max(lines) FROM load_stats), (SELECT count(*) FROM events)")[0]
        total = load_s + derive_s
        return {
            "seconds": round(total, 3), "load_seconds": round(load_s, 3), "derive_seconds": round(derive_s, 3),
            "cpu_seconds": round(load_cpu + derive_cpu, 3), "load_cpu_seconds": round(load_cpu, 3),
            "derive_cpu_seconds": round(derive_cpu, 3), "steps": steps, "lines": int(lines),
            "events": int(events), "duplicates": int(lines) - int(events),
            "events_per_s": lines / max(1e-9, load_s), "events_per_s_with_derive": lines / max(1e-9, total),
            "bytes": self.size_bytes(), "file_bytes": os.path.getsize(ndjson),
        }

    def reset(self):
        """Drops every table of a previous load."""
        for (name,) in self.rows(self.sql("tables.sql")):
            self.execute(f"DROP TABLE IF EXISTS {name}")

    # ---- a batch of new events (the freshness cost) ----------------------
    def apply_batch(self, ndjson, log=None):
        """Takes in the new events of an NDJSON file after load(), as a user
        who keeps the derived tables would: parse the batch (load.sql, its
        tables renamed), append what is not stored yet (dedup by (org_id,
        event_id), arrival after every stored line), then re-derive only the
        leads the batch names: derive.sql's lead steps run unchanged on those
        leads' events (tables renamed), their rows replace the stored ones,
        and overall_counts is adjusted by the difference (apply.sql).
        Statuses and users are derived again in full only when the batch
        names a status or user event or a status the org has not seen.
        Returns seconds, steps {name: seconds}, new_events, touched_leads."""
        log = log or (lambda msg: None)
        steps = {}
        t_all = time.perf_counter()

        def run(name, statements, renames=None):
            t = time.perf_counter()
            for s in statements:
                s = self._bind(s, None, {"path": os.path.abspath(ndjson)})
                self.execute(_renamed(s, renames) if renames else s)
            steps[name] = steps.get(name, 0) + round(time.perf_counter() - t, 4)

        for name, statements in read_statements(self.engine, "load.sql"):
            run("parse", statements, BATCH_LOAD_RENAMES)
        apply = dict(read_statements(self.engine, "apply.sql"))
        derive = dict(read_statements(self.engine, "derive.sql"))
        run("append", apply["append"])
        new_events, touched = self.rows("SELECT (SELECT count(*) FROM b_new), (SELECT count(*) FROM b_touched)")[0]
        if self.rows(self.sql("batch_names_catalog.sql"))[0][0]:
            # Statuses or users changed: derive those two small tables again.
            self.execute("DROP TABLE statuses")
            self.execute("DROP TABLE users")
            run("statuses_users", derive["statuses"] + derive["users"])
        run("derive_leads", derive["lead_created"], BATCH_DERIVE_RENAMES)
        run("derive_leads", apply["remap"])
        for step in ("lead_events", "transitions", "activities", "leads", "overall_counts"):
            run("derive_leads", derive[step], BATCH_DERIVE_RENAMES)
        run("merge", apply["merge"])
        run("cleanup", apply["cleanup"])
        seconds = time.perf_counter() - t_all
        log(f"  {self.label} batch: {new_events} new events, {touched} leads, {seconds * 1000:.1f} ms")
        return {"seconds": seconds, "steps": steps, "new_events": int(new_events), "touched_leads": int(touched)}

    # ---- reports ---------------------------------------------------------
    def answer(self, scenario, org):
        """The normalized answer (bench/scenarios.py) to a scenario's leadflow
        request made with the credential of org (a LeadSquared request names
        no org: its key pair does)."""
        url = urllib.parse.urlsplit(scenario.path)
        m = re.match(r"^/api/v1/report/statuses/lead/([^/]+)/$", url.path)
        if scenario.method == "GET" and m:
            q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            if set(q) - {"date_start", "date_end", "query"} or ("date_start" in q) != ("date_end" in q):
                raise Unsupported(f"status report parameters {sorted(q)}")
            t0 = epoch_ms(q["date_start"]) if "date_start" in q else None
            t1 = epoch_ms(q["date_end"]) if "date_end" in q else None
            return self.status_report(urllib.parse.unquote(m.group(1)), t0, t1, _query_term(q.get("query")))
        if scenario.method == "POST" and url.path == "/Leads/NotContacted":
            return self.not_contacted(org, **_nc_request(json.loads(scenario.body)))
        raise Unsupported(f"{scenario.method} {scenario.path}")

    def universe(self, org, term):
        """The /*UNIVERSE*/ filter on lead_pk for a Close field term, or ''."""
        if term is None:
            return ""
        field, value = term
        numeric = scenarios._is_number(value) or value.lower() in ("true", "false")
        if field != "Source" or numeric:
            raise Unsupported(f"query term {term!r} (only a text value on Source is precomputed)")
        # Only a text value can equal a value that is neither a number nor a
        # boolean (contract 2a), case-insensitively in ASCII: leads.source_ci.
        return (" AND lead_pk IN (SELECT lead_pk FROM leads WHERE org_id = "
                f"{self.literal(org)} AND NOT deleted AND source_ci = {self.literal(ascii_lower(value))})")

    def status_report(self, org, t0, t1, term):
        """The Close lead status change report over [t0, t1) (epoch ms; both
        None for the overall report), normalized as bench/scenarios.py does."""
        statuses = self.rows(self.sql("statuses.sql", org=org))
        zero = dict.fromkeys(("started", "ended", "entered", "left", "gained", "lost"), 0)
        counts = {sid: dict(zero) for sid, _, _ in statuses}

        def row(sid):
            return counts.setdefault(sid, dict(zero))

        overall = t0 is None
        frag = {"UNIVERSE": self.universe(org, term)}
        if overall and term is None:
            # The all-time counts were summed at load (overall_counts).
            per_pair = self.rows(self.sql("overall.sql", org=org))
        else:
            per_pair = self.rows(self.sql("status_counts.sql", frag, org=org, t0=NEG_INF if overall else t0,
                                          t1=INF if overall else t1))
        transitions = []
        for a, b, started, ended, entered, left, pairs in per_pair:
            row(b)["started"] += started
            row(b)["ended"] += ended
            row(b)["entered"] += entered
            if a is not None:
                row(a)["left"] += left
            if pairs:
                transitions.append((a, b, pairs))
        summary = None
        if not overall:
            summary = []
            for s0, s1, n in self.rows(self.sql("status_summary.sql", frag, org=org, t0=t0, t1=t1)):
                if s0 is not None:
                    row(s0)["lost"] += n
                row(s1)["gained"] += n
                summary.append((s0, s1, n))

        return scenarios.assemble_status_report(statuses, counts, transitions, summary, overall)

    def not_contacted(self, org, lead_field, lead_value, roles, codes, window, aggregate, page, page_size):
        """Leads Not Contacted (List of ProspectID, OwnerId, CreatedOn, or
        Aggregate Count by OwnerId), normalized as bench/scenarios.py does."""
        w0, w1 = window if window else (NEG_INF, INF)
        # Semi-joins on the window's activities (the org's, by time: one range
        # of activities' sort order), not correlated subqueries.
        in_window = "l.lead_pk IN (SELECT lead_pk FROM activities WHERE org_id = $org AND ts >= $w0 AND ts < $w1"
        if codes:
            contacted = in_window + " AND code IN $codes)"
        else:
            # The latest activity decides unless it is after the window;
            # only then are the window's activities looked at.
            contacted = ("(l.last_activity_at IS NOT NULL AND l.last_activity_at >= $w0 AND "
                         "(l.last_activity_at < $w1 OR " + in_window + ")))")
        frag = {"CONTACTED": contacted, "LEADS": f" AND l.{lead_field} = $lead_value"}
        sql = self.sql("nc_aggregate.sql" if aggregate else "nc_list.sql", frag, org=org, lead_value=lead_value,
                       roles=roles, codes=[int(c) for c in codes], w0=w0, w1=w1, limit=page_size,
                       offset=(page - 1) * page_size)
        result = self.rows(sql)
        if result:
            total = result[0][-1]
        elif page == 1:
            total = 0
        else:
            raise Unsupported("a page past the end")
        return {"total": int(total), "rows": [tuple(r[:-1]) for r in result]}


def _query_term(query):
    """A Close `query` of one field term "Field":"value" -> (field, value)."""
    if query is None:
        return None
    m = re.match(r'^\s*("(?:[^"\\]|\\.)*")\s*:\s*("(?:[^"\\]|\\.)*")\s*$', query)
    if not m:
        raise Unsupported(f"query {query!r}")
    return json.loads(m.group(1)), json.loads(m.group(2))


def _nc_request(body):
    """The parameters of a Leads Not Contacted body the benchmark sends."""
    rf = body.get("ReportFilter", {})
    lead_filters = rf.get("LeadFilters", [])
    if len(lead_filters) != 1 or lead_filters[0].get("SqlOperator") != "=" \
            or lead_filters[0].get("LookUpName") != "Source" or len(lead_filters[0].get("LookUpValues", [])) != 1:
        raise Unsupported(f"LeadFilters {lead_filters}")
    groups = rf.get("UserFilter", {}).get("GroupConditions", [])
    conds = [c for g in groups for c in g.get("Condition", [])]
    if len(conds) != 1 or conds[0].get("LookupName") != "Role" or conds[0].get("Operator") != "eq":
        raise Unsupported(f"UserFilter {groups}")
    codes = [int(c) for f in rf.get("ActivityFilters", []) or [] for c in f.get("ActivityEvents", [f.get("Value")])]
    window = None
    dates = body.get("DateFilter", [])
    for d in dates if isinstance(dates, list) else [dates]:
        if d.get("DateField") != "ActivityDate":
            raise Unsupported(f"DateFilter {d}")
        # FromDate <= x <= ToDate at whole seconds: [from, to + 1 s) in ms.
        w0 = epoch_ms(d["FromDate"].replace(" ", "T") + "Z")
        w1 = epoch_ms(d["ToDate"].replace(" ", "T") + "Z") + 1000
        window = (max(w0, window[0]), min(w1, window[1])) if window else (w0, w1)
    out = body.get("Output", {})
    aggregate = out.get("Type", "List").lower() == "aggregate"
    if aggregate and (out.get("GroupBy") != "OwnerId" or out.get("AggregateFunction") != "Count"):
        raise Unsupported(f"Output {out}")
    if not aggregate and out.get("IncludeCSV", "ProspectID") != ",".join(scenarios.NC_COLUMNS):
        raise Unsupported(f"Output {out}")
    if "Sorting" in body:
        raise Unsupported("Sorting")
    paging = body.get("Paging", {})
    return dict(lead_field="source", lead_value=lead_filters[0]["LookUpValues"][0],
                roles=[v.strip() for v in conds[0]["LookupValue"].split(",")], codes=codes, window=window,
                aggregate=aggregate, page=int(paging.get("PageIndex", 1)), page_size=int(paging.get("PageSize", 100)))


def _pct(values, q):
    """Nearest-rank percentile (q in 0..100), as bench/run.py computes it."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1)))))]


def time_scenarios(peer, scenario_list, org, reps, log=None):
    """Each scenario answered once to warm up, then reps times (in process):
    ({name: {p50_ms, p99_ms, reps}}, {name: the answer})."""
    out, answers = {}, {}
    for s in scenario_list:
        answers[s.name] = peer.answer(s, org)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            peer.answer(s, org)
            times.append((time.perf_counter() - t) * 1000)
        out[s.name] = {"p50_ms": _pct(times, 50), "p99_ms": _pct(times, 99), "reps": reps}
        if log:
            log(f"{peer.label} {s.name}: p50 {out[s.name]['p50_ms']:.2f} ms")
    return out, answers
