"""The freshness cost (bench/README.md, phase freshness_cost): batches of
1,000 new events for the large org, the same for leadflow and every peer.

Batch k (k = 0, 1, ...) is a continuation of the benchmark's history,
made deterministically by leadflow-gen: one org named like the large one
(org_acme, the same status and user ids), seed 1000 + k, BATCH_LEADS leads
whose events fall on day k after the history's end (--start END + k days,
--days 1), then rewritten:

  - only lead events are kept (lead.created, lead.status_changed,
    lead.updated, lead.deleted, activity.logged; the generator's
    status.upserted and user.upserted repeat what the org already has);
  - the generator's lead_<i> with i odd becomes a new lead lead_b<k>_<i>;
    with i even, an existing lead of the history,
    lead_<1 + (i * 2654435761 + k * 7919) mod big-org-leads>, whose
    lead.created is dropped (it was created long ago): its new status
    changes, updates and activities apply to a lead with a past;
  - every event_id gets the prefix fc<k>- (a generator run numbers its
    events from 1, as the history did);
  - the first BATCH_SIZE events in the generator's order (time order).

The report asked after each batch is the 365-day status report ending at
END + REPORT_DAYS_AFTER days (the batches' days are inside it), where END
is the history's end date.
"""

import datetime
import io
import json
import re
import subprocess
import time

BATCH_SIZE = 1000
BATCH_LEADS = 400
REPORT_DAYS_AFTER = 7
KEEP_TYPES = {"lead.created", "lead.status_changed", "lead.updated", "lead.deleted", "activity.logged"}


def report_end(end_date):
    """'YYYY-MM-DD' of the end of the freshness report's window."""
    return (datetime.date.fromisoformat(end_date) + datetime.timedelta(days=REPORT_DAYS_AFTER)).isoformat()


def make_batch(gen_bin, k, end_date, big_org_leads, path, size=BATCH_SIZE):
    """Writes batch k (see the module doc) to path; returns its event count."""
    start = (datetime.date.fromisoformat(end_date) + datetime.timedelta(days=k)).isoformat() + "T00:00:00Z"
    p = subprocess.run([gen_bin, "--seed", str(1000 + k), "--orgs", "1", "--leads", str(BATCH_LEADS),
                        "--big-org-leads", str(BATCH_LEADS), "--days", "1", "--start", start,
                        "--changes-per-lead", "4", "--activities-per-lead", "8", "--ndjson", "-"],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = []
    for line in p.stdout.splitlines():
        e = json.loads(line)
        if e["type"] not in KEEP_TYPES:
            continue
        i = int(e["lead_id"].rsplit("_", 1)[1])
        if i % 2:
            e["lead_id"] = f"lead_b{k}_{i}"
        else:
            if e["type"] == "lead.created":
                continue
            e["lead_id"] = f"lead_{1 + (i * 2654435761 + k * 7919) % big_org_leads}"
        e["event_id"] = f"fc{k}-{e['event_id']}"
        out.append(json.dumps(e, separators=(",", ":")))
        if len(out) == size:
            break
    if len(out) < size:
        raise SystemExit(f"freshness batch {k}: only {len(out)} events (want {size})")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return len(out)


# ---- PostgreSQL (fair): append, then derive every reporting table again ----

PG_KEEP = {"events"}  # what a re-derive keeps: the deduplicated events (primary key (org_id, event_id))
PG_RENAMES = {"raw_events": "b_raw", "events": "b_events"}


def _renamed(sql, names):
    return re.sub(r"\b(" + "|".join(names) + r")\b", lambda m: names[m.group(1)], sql)


def pg_apply_batch(conn, ndjson, log=None):
    """Takes a batch into the fair PostgreSQL of bench/pg (loaded by
    pgbase.load): the batch's lines are COPYed (numbered after every stored
    line) into a table of their own, typed by derive.sql's `events` step
    (tables renamed), and appended with INSERT .. ON CONFLICT (org_id,
    event_id) DO NOTHING (the dedup, on the events' primary key); then every
    reporting table is derived again from events, as at load: derive.sql
    after its events steps, indexes.sql but the events' primary key,
    fair.sql, VACUUM (ANALYZE). A full re-derive: the fair tables (a status
    group per lead's current status, previous-occurrence columns, summary
    counts) are not maintained incrementally here (bench/peers/README.md,
    "Freshness cost"). Returns seconds, steps {name: seconds}, new_events."""
    from pg import pgbase
    log = log or (lambda msg: None)
    steps = {}
    cur = conn.cursor()
    t_all = time.perf_counter()

    def step(name, fn):
        t = time.perf_counter()
        out = fn()
        steps[name] = steps.get(name, 0) + round(time.perf_counter() - t, 4)
        return out

    def run_file(filename, skip=()):
        for name, statements in pgbase.read_steps(filename):
            if name in skip:
                continue
            for sql in statements:
                cur.execute(sql)

    def append():
        cur.execute("DROP TABLE IF EXISTS b_raw, b_events")
        cur.execute("CREATE TEMP TABLE b_raw (line bigint, doc jsonb)")
        cur.execute("SELECT coalesce(max(line), 0) FROM events")
        first = cur.fetchone()[0] + 1
        with open(ndjson, "rb") as f:
            data = b"".join(b"%d\x02%s\n" % (first + i, line.rstrip(b"\r\n")) for i, line in enumerate(f))
        cur.copy_expert(f"COPY b_raw (line, doc) FROM STDIN {pgbase.COPY_OPTIONS}", io.BytesIO(data))
        for name, statements in pgbase.read_steps("derive.sql"):
            if name == "events":
                for sql in statements:
                    cur.execute(_renamed(sql, PG_RENAMES).replace("CREATE TABLE b_events", "CREATE TEMP TABLE b_events"))
        cur.execute("INSERT INTO events SELECT * FROM b_events ORDER BY line ON CONFLICT (org_id, event_id) DO NOTHING")
        n = cur.rowcount
        cur.execute("DROP TABLE b_raw, b_events")
        return n

    def drop_derived():
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = [t for (t,) in cur.fetchall() if t not in PG_KEEP]
        if names:
            cur.execute("DROP TABLE " + ", ".join(f'"{t}"' for t in names) + " CASCADE")

    def vacuum():
        cur.execute("VACUUM (ANALYZE)")
        cur.execute("""SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relallvisible < c.relpages""")
        for (table,) in cur.fetchall():
            cur.execute(f'VACUUM "{table}"')

    cur.execute("SET work_mem = '1GB'")
    cur.execute("SET maintenance_work_mem = '2GB'")
    new_events = step("append", append)
    step("derive", drop_derived)
    step("derive", lambda: run_file("derive.sql", skip={"events", "dedup", "drop_raw"}))
    step("indexes", lambda: run_file("indexes.sql", skip={"pk_events"}))
    step("fair", lambda: run_file("fair.sql"))
    step("vacuum_analyze", vacuum)
    cur.execute("RESET work_mem")
    cur.execute("RESET maintenance_work_mem")
    cur.close()
    seconds = time.perf_counter() - t_all
    log(f"  PostgreSQL batch: {new_events} new events, {seconds * 1000:.0f} ms")
    return {"seconds": seconds, "steps": steps, "new_events": new_events}
