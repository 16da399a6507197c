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
import os
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


# ---- PostgreSQL (fair): append, then re-derive the touched leads ----

PG_BATCH_RENAMES = {"raw_events": "b_raw", "events": "b_events"}
# derive.sql's lead steps and fair.sql's per-lead statements, run on the
# touched leads' events only (bench/pg/sql/apply.sql).
PG_DERIVE_RENAMES = {"events": "tev", "lead_created": "d_lead_created", "lead_changes": "d_lead_changes",
                     "lead_updates": "d_lead_updates", "activities": "d_activities",
                     "transitions": "d_transitions", "leads": "d_leads"}
PG_FAIR_RENAMES = {"transitions": "d_transitions", "transitions_fair": "d_transitions_fair", "leads": "d_leads",
                   "status_current_counts": "d_status_current_counts",
                   "transition_counts": "d_transition_counts", "lead_text_fields": "d_lead_text_fields",
                   "lead_field_list": "d_lead_field_list"}
PG_LEAD_STEPS = ("lead_created", "lead_changes", "lead_updates", "activities", "transitions", "leads")


def _renamed(sql, names):
    return re.sub(r"\b(" + "|".join(names) + r")\b", lambda m: names[m.group(1)], sql)


def _temp(sql):
    return sql.replace("CREATE TABLE ", "CREATE TEMP TABLE ")


def pg_apply_batch(conn, ndjson, log=None):
    """Takes a batch into the fair PostgreSQL of bench/pg (loaded by
    pgbase.load) as a user who keeps its tables current would: the batch's
    lines are COPYed (numbered after every stored line) into a table of
    their own and typed by derive.sql's `events` step (tables renamed); the
    new ones are appended (INSERT .. ON CONFLICT (org_id, event_id) DO
    NOTHING: the dedup); then only the leads the batch names are derived
    again, by derive.sql's lead steps and fair.sql's per-lead statements on
    those leads' events, and their rows replace the stored ones, the
    summary tables adjusted by the difference (sql/apply.sql). Statuses and
    users are derived again in full only when the batch changes them. No
    VACUUM or ANALYZE per batch (autovacuum's business). Returns seconds,
    steps {name: seconds}, new_events, touched_leads."""
    from pg import pgbase
    log = log or (lambda msg: None)
    steps = {}
    cur = conn.cursor()
    t_all = time.perf_counter()
    apply = dict(pgbase.read_steps("apply.sql"))
    derive = dict(pgbase.read_steps("derive.sql"))
    fair = dict(pgbase.read_steps("fair.sql"))

    def run(name, statements, renames=None):
        t = time.perf_counter()
        for sql in statements:
            t1 = time.perf_counter()
            cur.execute(_temp(_renamed(sql, renames)) if renames else sql)
            if os.environ.get("FC_DEBUG"):  # per-statement times, for tuning
                print(f"{(time.perf_counter() - t1) * 1000:8.1f} ms  {sql.strip().splitlines()[0][:90]}")
        steps[name] = steps.get(name, 0) + round(time.perf_counter() - t, 4)

    def parse():
        cur.execute("CREATE TEMP TABLE b_raw (line bigint, doc jsonb)")
        cur.execute("SELECT max_line FROM event_lines")
        first = cur.fetchone()[0] + 1
        with open(ndjson, "rb") as f:
            data = b"".join(b"%d\x02%s\n" % (first + i, line.rstrip(b"\r\n")) for i, line in enumerate(f))
        cur.copy_expert(f"COPY b_raw (line, doc) FROM STDIN {pgbase.COPY_OPTIONS}", io.BytesIO(data))

    cur.execute("BEGIN")  # readers never see half a batch
    t = time.perf_counter()
    parse()
    steps["parse"] = round(time.perf_counter() - t, 4)
    run("parse", derive["events"], PG_BATCH_RENAMES)
    run("append", apply["append"])
    cur.execute("SELECT (SELECT count(*) FROM b_new), (SELECT count(*) FROM b_touched)")
    new_events, touched = cur.fetchone()
    cur.execute(apply["catalog_changed"][0])
    if cur.fetchone()[0]:
        # Statuses or users changed: derive those two small tables again.
        run("statuses_users", ["DROP TABLE statuses, users"] + derive["statuses"] + derive["users"]
            + dict(pgbase.read_steps("indexes.sql"))["pk_small"])
    run("derive_leads", derive["lead_created"], PG_DERIVE_RENAMES)
    run("derive_leads", apply["remap"])
    for name in PG_LEAD_STEPS[1:]:
        run("derive_leads", derive[name], PG_DERIVE_RENAMES)
    run("derive_fair", apply["groups"])
    # fair_transitions' second statement (its first makes status_groups,
    # which the groups step extends instead).
    run("derive_fair", fair["fair_transitions"][1:] + fair["fair_lead_fields"] + fair["fair_summaries"],
        PG_FAIR_RENAMES)
    run("merge", apply["merge"])
    run("cleanup", apply["cleanup"])
    run("commit", ["COMMIT"])
    cur.close()
    seconds = time.perf_counter() - t_all
    log(f"  PostgreSQL batch: {new_events} new events, {touched} leads, {seconds * 1000:.0f} ms")
    return {"seconds": seconds, "steps": steps, "new_events": new_events, "touched_leads": touched}
