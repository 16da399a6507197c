"""A small hand-written event stream that exercises every edge rule of
contract section 1 (and the filters of the benchmark scenarios), for
bench/pg/check.py. Lines are in arrival order.

    write(path) -> (orgs, end_dates, instants)

instants: the event instants (RFC 3339), so the check can put period bounds
on them and next to them.
"""

import json

ORG = "org_edge"
ORG2 = "org_edge2"  # reuses ORG's event ids and lead ids: dedup and leads are per org


def _t(day, hms="00:00:00.000", tz="Z"):
    return f"2024-03-{day:02d}T{hms}{tz}"


def events():
    ev = []
    n = [0]

    def add(type_, at, org=ORG, event_id=None, **fields):
        n[0] += 1
        ev.append(dict(event_id=event_id or f"e{n[0]}", type=type_, org_id=org, occurred_at=at, **fields))

    # Statuses: positions; s3 without position (after positioned ones, by
    # first appearance); s4 never upserted (label = id); s5 deleted after its
    # upsert; s6 deleted, then upserted again (undeleted); s7 upserted twice,
    # the later occurred_at arriving first.
    add("status.upserted", _t(1), status_id="s1", label="Potential", position=0)
    add("status.upserted", _t(1), status_id="s2", label="Interested", position=1)
    add("status.upserted", _t(1, "00:00:01.000"), status_id="s3", label="Qualified")
    add("status.upserted", _t(1), status_id="s5", label="Gone", position=5)
    add("status.deleted", _t(20), status_id="s5")
    add("status.deleted", _t(2), status_id="s6")
    add("status.upserted", _t(3), status_id="s6", label="Back", position=2)
    add("status.upserted", _t(1, "12:00:00.000"), status_id="s7", label="New", position=3)
    add("status.upserted", _t(1, "11:00:00.000"), status_id="s7", label="Old", position=9)

    # Users: u2's latest upsert arrives first; u3 spells the key "role"; u4's
    # Role is null; u5 owns leads but has no user record.
    add("user.upserted", _t(1), user_id="u1", fields={"Role": "Sales User", "FirstName": "Ann"})
    add("user.upserted", _t(5), user_id="u2", fields={"Role": "Sales User"})
    add("user.upserted", _t(4), user_id="u2", fields={"Role": "Admin"})
    add("user.upserted", _t(1), user_id="u3", fields={"role": "Sales User"})
    add("user.upserted", _t(1), user_id="u4", fields={"Role": None})

    # L1: a day-boundary change, a no-op, a change at a .500 instant.
    add("lead.created", _t(2, "10:00:00.000"), lead_id="L1", status_id="s1", owner_id="u1",
        fields={"Source": "web", "City": "Oslo"})
    add("lead.status_changed", _t(5), lead_id="L1", status_id="s2", previous_status_id="s1")
    add("lead.status_changed", _t(6), lead_id="L1", status_id="s2", previous_status_id="s9")
    add("lead.status_changed", _t(10, "12:00:00.500"), lead_id="L1", status_id="s3")
    # The same event id again with other content: a duplicate, ignored.
    add("lead.status_changed", _t(11), event_id=ev[-1]["event_id"], lead_id="L1", status_id="s1")

    # L2: changes arrive before the creation; the one dated before it is
    # ignored, the later one applies.
    add("lead.status_changed", _t(3), lead_id="L2", status_id="s2")
    add("lead.status_changed", _t(6, "06:00:00.000"), lead_id="L2", status_id="s3")
    add("lead.updated", _t(3), lead_id="L2", fields={"Source": "referral"})  # before creation: ignored
    add("lead.created", _t(4), lead_id="L2", status_id="s1", owner_id="u3", fields={"Source": "web"})

    # L3: two creations; the earlier occurred_at (arriving second) wins.
    add("lead.created", _t(8), lead_id="L3", status_id="s1", owner_id="u2", fields={"Source": "web"})
    add("lead.created", _t(7), lead_id="L3", status_id="s2", owner_id="u1", fields={"Source": "Web"})

    # L4: deleted (the delete arrives before the creation).
    add("lead.deleted", _t(12), lead_id="L4")
    add("lead.created", _t(9), lead_id="L4", status_id="s1", owner_id="u1", fields={"Source": "web"})
    add("lead.status_changed", _t(10), lead_id="L4", status_id="s2")

    # L5: changes at exactly the creation instant apply after it, in arrival order.
    add("lead.status_changed", _t(10), lead_id="L5", status_id="s2")
    add("lead.created", _t(10), lead_id="L5", status_id="s1", owner_id="u1", fields={"Source": "web"})
    add("lead.status_changed", _t(10), lead_id="L5", status_id="s3")
    add("lead.status_changed", _t(10, "00:00:00.001"), lead_id="L5", status_id="s3")  # no-op

    # L6: update at the creation instant arriving first still applies after
    # the creation's fields; a null removes a key; owner changes; an update
    # with owner_id null keeps the owner.
    add("lead.updated", _t(11), lead_id="L6", fields={"City": "Paris", "Source": "web"})
    add("lead.created", _t(11), lead_id="L6", status_id="s2", owner_id="u2", fields={"Source": "partner", "City": "Rome"})
    add("lead.updated", _t(12), lead_id="L6", fields={"Source": None}, owner_id="u3")
    add("lead.updated", _t(13), lead_id="L6", fields={"Source": "web"}, owner_id=None)

    # L7: an activity before the creation counts (contacted); L8: no activity.
    add("activity.logged", _t(15), lead_id="L7", activity_id="a1", activity_event=21, activity_name="Call")
    add("lead.created", _t(20), lead_id="L7", status_id="s1", owner_id="u1", fields={"Source": "web"})
    add("lead.created", _t(20), lead_id="L8", status_id="s1", owner_id="u1", fields={"Source": "web"})
    add("activity.logged", _t(1), lead_id="L8", activity_id="a2", activity_event=21)  # before the window

    # L9, L10: Source of other types; L11: events of a lead never created.
    add("lead.created", _t(14), lead_id="L9", status_id="s1", owner_id="u1", fields={"Source": 5})
    add("lead.created", _t(14), lead_id="L10", status_id="s1", owner_id="u1", fields={"Source": True})
    add("lead.status_changed", _t(14), lead_id="L11", status_id="s2")
    add("activity.logged", _t(14), lead_id="L11", activity_id="a3", activity_event=22)

    # L12: a status nobody upserted, an owner without a user record.
    add("lead.created", _t(16), lead_id="L12", status_id="s4", owner_id="u5", fields={"Source": "web"})
    # L13, L14: in the status that gets deleted; in the undeleted one.
    add("lead.created", _t(17), lead_id="L13", status_id="s5", owner_id="u4", fields={"Source": "web"})
    add("lead.created", _t(17), lead_id="L14", status_id="s6", owner_id="u1", fields={"Source": "web"})
    add("lead.status_changed", _t(18), lead_id="L14", status_id="s7")

    # Offsets and sub-millisecond fractions (truncated).
    add("lead.created", "2024-03-18T01:00:00+01:00", lead_id="L15", status_id="s1", owner_id="u1",
        fields={"Source": "web"})
    add("lead.status_changed", "2024-03-19T00:00:00.000999Z", lead_id="L15", status_id="s2")
    add("lead.status_changed", "2024-03-19T00:00:00.0009Z", lead_id="L15", status_id="s3")
    # L16: created after the end of March (in the overall report only).
    add("lead.created", "2024-04-05T00:00:00Z", lead_id="L16", status_id="s2", owner_id="u1", fields={"Source": "web"})

    # Many leads for paging and the aggregate: created across March, some
    # contacted inside the window, owners and sources alternating.
    for i in range(250):
        lead = f"M{i:03d}"
        day = 2 + i % 27
        at = _t(day, f"{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}")
        add("lead.created", at, lead_id=lead, status_id=["s1", "s2", "s3"][i % 3], owner_id=["u1", "u2", "u3", "u4", "u5"][i % 5],
            fields={"Source": ["web", "referral", "WEB"][i % 3 if i % 7 else 0]})
        if i % 4 == 0:
            add("activity.logged", _t(min(day + 1, 31)), lead_id=lead, activity_id=f"act{i}", activity_event=20 + i % 5)
        if i % 5 == 1:
            add("lead.status_changed", _t(min(day + 2, 31), "08:00:00.000"), lead_id=lead, status_id="s2")
        if i % 11 == 0:
            add("lead.deleted", _t(30), lead_id=lead)

    # ORG2: the same event ids and lead ids, other content.
    for e in list(ev):
        if e["type"] in ("lead.created", "lead.status_changed", "status.upserted", "user.upserted"):
            e2 = dict(e, org_id=ORG2)
            if "status_id" in e2 and e2["type"] == "lead.status_changed":
                e2["status_id"] = "s1" if e2["status_id"] != "s1" else "s2"
            ev.append(e2)
    return ev


def write(path):
    ev = events()
    with open(path, "w") as f:
        for e in ev:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    instants = sorted({e["occurred_at"] for e in ev})
    return [ORG, ORG2], ["2024-04-01", "2024-03-10", "2024-03-19"], instants
