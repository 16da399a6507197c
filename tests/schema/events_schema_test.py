"""docs/events.schema.json against the real decoder (ctest `events_schema`).

Run by tests/schema/events_schema_test.sh in the shared test venv (pinned
jsonschema, tests/openapi/requirements.txt):

  python events_schema_test.py --leadflow BIN --gen BIN --schema FILE --corpus DIR --work DIR

1. The schema is a valid draft 2020-12 schema, and its examples are valid.
2. Every event of a generated stream (leadflow-gen --invalid-share 0) is valid.
3. A differential: the generated events, hostile variants of them (every
   field dropped, nulled and given every JSON type; bad and odd ids, org ids,
   times, integers, fields, unknown members, nesting, numbers, sizes,
   duplicate keys), the generator's own invalid messages and the decoder's
   fuzz corpus go through `leadflow ingest --file` (the real decoder; its
   dead-letter file names each refused line and why) and through the schema:
   - every line the decoder accepts is valid under the schema (the schema is
     never stricter than the decoder);
   - every line the decoder refuses for a reason the schema can state is
     invalid under the schema (or not even JSON to a parser);
   - lines refused for a reason no schema can state are counted apart
     (NOT_EXPRESSIBLE below says which and why);
   - a reason this file does not know fails the test, so that a new rule of
     the decoder is either stated in the schema or listed here.
Exits 1 on any disagreement, after printing the counts.
"""

import argparse
import collections
import json
import os
import random
import re
import subprocess
import sys
import time

import jsonschema

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_EVENT_BYTES = 1 << 20

# Reasons of the decoder (ingest/decode.h) that a schema cannot state, with
# why. A line refused for one of these may be valid or invalid under the
# schema; it is only counted. Each is listed in the schema's description.
NOT_EXPRESSIBLE = {
    # The size of the message in bytes, checked before parsing: a schema sees
    # a parsed value, not its text.
    "size": re.compile(r"event is \d+ bytes; at most \d+ are allowed$"),
    # Syntax, UTF-8, control characters, escapes (an unpaired surrogate
    # \ud800 included), trailing text: JSON text the decoder refuses. A
    # parser may still make a value of it (Python's takes a lone surrogate,
    # NaN, Infinity), which the schema then judges.
    "json_syntax": re.compile(r"not valid JSON( at byte \d+|: .*)$"),
    # JSON Schema's data model has no duplicate keys: a parser keeps one
    # value (Python's the last) before a validator sees the object.
    "duplicate_key": re.compile(r"duplicate key \".*$"),
    # The Kafka message key is no part of the value (and `ingest --file` has
    # none).
    "message_key": re.compile(r"message key does not match org_id$"),
    # The instant after the offset (and a leap second read as the next
    # second) within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z: a
    # comparison of the local time with the offset, on the first and last
    # day only. Regular in principle, but as a pattern it would be hundreds
    # of alternatives; the schema's description states the rule instead.
    "occurred_at_utc_years": re.compile(r"occurred_at is outside the years 0001-9999 in UTC$"),
}

# Reasons a schema can state only for some values: (pattern, member, test of
# the value that makes this line one the schema cannot judge).
#  - JSON Schema's "integer" is any number with a zero fraction: 3.0 and 3e0
#    are integers to it, but the decoder wants an integer token.
#  - The decoder bounds keys and string values of `fields` in bytes of
#    UTF-8, a schema in characters (code points): a non-ASCII string within
#    the character bound may be past the byte bound.
def _integral_float(lo):
    return lambda v: isinstance(v, float) and v.is_integer() and lo <= v <= INT64_MAX


def _keys_within_chars(fields):
    return isinstance(fields, dict) and all(len(k) <= 256 for k in fields)


def _strings_within_chars(fields):
    return isinstance(fields, dict) and all(not isinstance(v, str) or len(v) <= 32768 for v in fields.values())


PARTLY_EXPRESSIBLE = [
    ("integer_written_as_float", re.compile(r"position must be an integer$"), "position", _integral_float(INT64_MIN)),
    ("integer_written_as_float", re.compile(r"activity_event must be an integer >= 0$"), "activity_event",
     _integral_float(0)),
    ("field_key_bytes", re.compile(r"fields has a key of \d+ bytes; at most 256 are allowed$"), "fields",
     _keys_within_chars),
    ("field_value_bytes", re.compile(r"fields\..* is \d+ bytes; at most 32768 are allowed$"), "fields",
     _strings_within_chars),
]

# Every other reason of the decoder: the schema states the rule, so it must
# refuse the line. A reason matching none of these lists fails the test.
EXPRESSIBLE = [
    re.compile(p + "$")
    for p in [
        r"not a JSON object",
        r"JSON nesting deeper than 32 levels",
        r"number out of range: .*",
        r"missing field [a-z_]+",
        r"[a-z_]+ must be a string",
        r"[a-z_]+ must be 1-128 characters",
        r"unknown type .*",
        r"org_id must be 1-64 characters",
        r"org_id may contain only A-Z, a-z, 0-9, _ and -",
        r"occurred_at is not an RFC 3339 timestamp",
        r"position must be an integer",
        r"position is out of range",
        r"activity_event must be an integer >= 0",
        r"activity_event is out of range",
        r"fields must be an object",
        r"fields has \d+ keys; at most 1000 are allowed",
        r"fields has an empty key",
        r"fields has a key of \d+ bytes; at most 256 are allowed",
        r"fields\..* must be a string, number, boolean or null",
        r"fields\..* is \d+ bytes; at most 32768 are allowed",
    ]
]


def classify(reason, value):
    """(rule, expressible) for a reason of the decoder; rule None if unknown."""
    for rule, pattern in NOT_EXPRESSIBLE.items():
        if pattern.match(reason):
            return rule, False
    for rule, pattern, member, inexpressible in PARTLY_EXPRESSIBLE:
        if pattern.match(reason) and isinstance(value, dict) and member in value and inexpressible(value[member]):
            return rule, False
    for pattern in EXPRESSIBLE:
        if pattern.match(reason):
            return pattern.pattern.rstrip("$"), True
    return None, False


# ------------------------------------------------------------------ parsing

class Raw:
    """A JSON token written as is (1.0, 1e400, 400 digits, -0)."""

    def __init__(self, token):
        self.token = token


def dumps(value, ascii=False):
    """JSON text of value, Raw tokens in place; non-ASCII characters escaped
    (astral ones as surrogate pairs) when ascii."""
    raws = []

    def walk(v):
        if isinstance(v, Raw):
            raws.append(v.token)
            return "\x00raw%d\x00" % (len(raws) - 1)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    text = json.dumps(walk(value), separators=(",", ":"), ensure_ascii=ascii)
    for i, token in enumerate(raws):
        text = text.replace('"\\u0000raw%d\\u0000"' % i, token, 1)
    return text


DOUBLE_MAX = sys.float_info.max


def _int(token):
    """An integer token as Python's parser reads it (exact), but one past the
    largest double as the decoder reads it: the nearest double (the largest
    one, or infinity). The schema bounds numbers by the largest double, which
    it can write; the decoder's exact bound, 2^1024 - 2^970, is no number
    most JSON parsers can load. A validator that kept a 309-digit integer
    just above the largest double exact would refuse what the decoder rounds
    down to it (the schema's $defs/double says so)."""
    value = int(token)
    return float(token) if abs(value) > DOUBLE_MAX else value


def parse(line):
    """The value a standard parser makes of a line (its bytes as UTF-8), or
    raises ValueError."""
    line = line.encode("utf-8", "surrogateescape").decode("utf-8")
    if line.startswith("\ufeff"):  # the decoder skips a byte order mark too
        line = line[1:]
    return json.loads(line, parse_int=_int)


# ------------------------------------------------------------------ variants

TYPE_PROBES = [None, True, False, 0, -1, 7, Raw("1.0"), 2.5, Raw("-0.0"), "", "x", [], [1], {}, {"a": 1}]

ID_PROBES = [
    "", "a", " ", "a" * 128, "a" * 129, "é" * 128, "é" * 129, "\U0001F600" * 128, "\U0001F600" * 129,
    "e\u0301" * 64, "e\u0301" * 65, "\u0000", "a\nb", "\ttab", "lead/1", "../..", "\u202e", "\ufffd" * 3,
    "x" * 10000, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]

ORG_PROBES = [
    "", "a", "A-Z_a-z_0-9", "-", "_", "a" * 64, "a" * 65, "org acme", "org.acme", "org/acme", "orgé", "org\n",
    "\norg", "org\u0000", "ｏｒｇ", "org\u0663", "org%41", "org\\", "org\"", "org\u00a0", "org_" + "x" * 60,
]

TYPE_NAME_PROBES = [
    "lead.exploded", "Lead.Created", "lead.created ", " lead.created", "lead_created", "lead", "", "lead.created\n",
    "status.upserted\u0000", "activity.logged.", "LEAD.DELETED",
]

GOOD_TIMES = [
    "2024-05-01T10:00:00Z", "2024-05-01t10:00:00z", "2024-05-01 10:00:00Z", "2024-05-01T10:00:00.1Z",
    "2024-05-01T10:00:00.123456789012345678901234567890Z", "2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00-00:00",
    "2024-05-01T10:00:00+23:59", "2024-05-01T10:00:00-23:59", "2024-05-01T10:00:60Z", "2024-12-31T23:59:60.999Z",
    "2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "0400-02-29T00:00:00Z", "0004-02-29T12:00:00Z",
    "1600-02-29T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00-23:59", "0001-01-01T01:00:00+01:00",
    "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999999Z", "9999-12-31T00:00:00+23:59",
    "9999-12-31T22:59:59-01:00", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2024-04-30T00:00:00Z",
    "2024-06-30T00:00:00Z", "2024-09-30T00:00:00Z", "2024-11-30T00:00:00Z", "2023-02-28T00:00:00Z",
    "2024-01-31T00:00:00Z", "2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z",
    "2024-08-31T00:00:00Z", "2024-10-31T00:00:00Z", "2024-12-31T00:00:00Z",
]

BAD_TIMES = [
    "", "yesterday", "2024-05-01", "2024-05-01T10:00:00", "2024-05-01T10:00Z", "2024-05-01T10:00:00.Z",
    "2024-05-01T10:00:00.123", "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z", "2024-05-01T10:00:61Z",
    "2024-00-01T10:00:00Z", "2024-13-01T10:00:00Z", "2024-05-00T10:00:00Z", "2024-05-32T10:00:00Z",
    "2024-04-31T10:00:00Z", "2023-02-29T10:00:00Z", "1900-02-29T10:00:00Z", "2100-02-29T10:00:00Z",
    "0000-01-01T00:00:00Z", "0000-02-29T00:00:00Z", "10000-01-01T00:00:00Z", "2024-5-1T10:00:00Z",
    "2024-05-01T10:00:00+24:00", "2024-05-01T10:00:00+23:60", "2024-05-01T10:00:00+0100", "2024-05-01T10:00:00+01",
    "2024-05-01T10:00:00 Z", "2024-05-01T10:00:00Z ", " 2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z\n",
    "\n2024-05-01T10:00:00Z", "2024-05-01T10:00:00ZZ", "2024-05-01_10:00:00Z", "2024-05-01T10:00:00UTC",
    "２０２４-05-01T10:00:00Z", "2024-05-01T1\u0660:00:00Z", "2024-05-01T10:00:00.１Z", "2024/05/01T10:00:00Z",
    "1714557600000", "2024-05-01T10:00:00.+01:00", "2024-05-01T10:00:00-01:00:00", "+2024-05-01T10:00:00Z",
    # Within the syntax, outside the years in UTC (a rule the schema cannot state).
    "0001-01-01T00:30:00+01:00", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:60Z",
    "9999-12-31T23:30:00-00:30",
]

TIME_CHARS = "0123456789-:Tt zZ+.x\u0663\n/"

INT_PROBES = [
    Raw("0"), Raw("-0"), Raw("1"), Raw("-1"), Raw(str(INT64_MAX)), Raw(str(INT64_MIN)), Raw(str(INT64_MAX + 1)),
    Raw(str(INT64_MIN - 1)), Raw(str(2**64 - 1)), Raw(str(2**64)), Raw("1" * 30), Raw("-" + "1" * 30),
    Raw("1.0"), Raw("-0.0"), Raw("3e0"), Raw("1e2"), Raw("1E+2"), Raw("1.5"), Raw("-1.0"), Raw("1e19"),
    Raw("9223372036854775807.0"), Raw("1e400"), Raw("-1e400"), Raw("1e-400"), "3", True, None, [], {},
]

NUMBER_TOKENS = [
    "0", "-0", "1e308", "-1e308", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
    "-1.7976931348623159e308", "1e309", "1e400", "-1e400", "1e-400", "4.9e-324", "2.5e-324",
    "9" * 308, "9" * 309, "9" * 400, "-" + "9" * 400, "0." + "0" * 400 + "1", "18446744073709551616",
    "1" + "0" * 300 + ".5e8",
    # Integers just above the largest double: rounded down to it (accepted), and at 2^1024 - 2^970 up to infinity.
    str(int(DOUBLE_MAX) + 1), str(int(DOUBLE_MAX) + 2**969), "-" + str(int(DOUBLE_MAX) + 2**969),
    str(2**1024 - 2**970 - 1), str(2**1024 - 2**970), "-" + str(2**1024 - 2**970),
]


def nested(depth, leaf, kind):
    """A value whose objects/arrays nest `depth` levels around leaf."""
    v = leaf
    for i in range(depth):
        if kind == "array" or (kind == "mixed" and i % 2):
            v = [v]
        else:
            v = {"k": v}
    return v


def field_probes():
    many = {("k%d" % i): i for i in range(1000)}
    many_plus = dict(many, extra=1)
    return [
        {}, {"a": None}, {"a": "x" * 32768}, {"a": "x" * 32769}, {"a": "é" * 16384}, {"a": "é" * 16385},
        {"a": "é" * 32768}, {"a": "\U0001F600" * 32768}, {"a": "\U0001F600" * 32769}, {"a": "x" * 40000},
        {"k" * 256: 1}, {"k" * 257: 1}, {"é" * 128: 1}, {"é" * 129: 1}, {"é" * 256: 1}, {"é" * 257: 1},
        {"": 1}, {" ": 1}, {"\u0000": 1}, many, many_plus, {"a": {}}, {"a": []}, {"a": {"b": 1}}, {"a": [1]},
        {"a": True, "b": False, "c": 1.5, "d": Raw("-0.0"), "e": Raw("1e-400")}, {"a": Raw("1e400")},
        {"a": Raw("9" * 400)}, {"a": Raw("1.7976931348623157e308")}, {"a": Raw("1.7976931348623159e308")},
        {"a": Raw(str(2**64))}, {"City": "Paris", "city": "Rome"}, "City=Paris", [], [{"a": 1}], 5, True,
    ]


def extra_probes():
    probes = [nested(31, 1, "array"), nested(32, 1, "array"), nested(31, 1, "object"), nested(32, 1, "object"),
              nested(31, None, "mixed"), nested(32, None, "mixed"), nested(30, [], "array"),
              nested(31, [], "array"), nested(30, {}, "object"), nested(31, {}, "object"), nested(100, 1, "array"),
              {"a": [1, {"b": [2, {"c": None}]}]}, "x" * 200000, [], {}, None]
    probes += [Raw(t) for t in NUMBER_TOKENS]
    probes += [nested(5, Raw(t), "mixed") for t in ("1e400", "1e308", "9" * 400, "-1e400")]
    return probes


def typed_bases(valid):
    """Valid events by type, with more lead.deleted and status.deleted made
    from lead.created and status.upserted events (the generator makes few)."""
    by_type = collections.defaultdict(list)
    for e in valid:
        by_type[e["type"]].append(e)
    common = ("event_id", "type", "org_id", "occurred_at")
    for e in by_type["lead.created"][:20]:
        by_type["lead.deleted"].append(dict({k: e[k] for k in common}, type="lead.deleted", lead_id=e["lead_id"]))
    for e in by_type["status.upserted"][:20]:
        by_type["status.deleted"].append(dict({k: e[k] for k in common}, type="status.deleted",
                                              status_id=e["status_id"]))
    return by_type


def variants(schema, valid, examples, rng, per_type):
    """(label, line) pairs: hostile variants of valid events."""
    out = []
    serial = [0]

    def add(label, event):
        serial[0] += 1
        if isinstance(event, dict) and isinstance(event.get("event_id"), str) and not label.startswith("event_id"):
            event = dict(event, event_id="%s~v%d" % (event["event_id"], serial[0]))
        out.append((label, dumps(event, ascii=serial[0] % 3 == 0)))

    # The members each type reads, and which of them are ids, from the schema.
    envelope = schema["$defs"]["envelope"]["properties"]
    reads = {t: dict(envelope, **schema["$defs"][t]["properties"]) for t in schema["properties"]["type"]["enum"]}
    id_refs = ("#/$defs/id", "#/$defs/optional_id")
    members = set().union(*reads.values())

    by_type = typed_bases(valid)
    bases = []
    for t in sorted(by_type):
        bases += rng.sample(by_type[t], min(per_type, len(by_type[t])))
    bases += examples
    for base in bases:
        t = base["type"]
        # Every member dropped, and given every JSON type (null and "" among them).
        for k in list(base):
            add("drop " + k, {x: v for x, v in base.items() if x != k})
            for probe in TYPE_PROBES:
                add("%s as %s" % (k, type(probe).__name__), dict(base, **{k: probe}))
        # Ids, optional ones added too.
        for k, rule in reads[t].items():
            if rule.get("$ref") in id_refs:
                for probe in rng.sample(ID_PROBES, 8):
                    add(k + " id", dict(base, **{k: probe}))
        for probe in rng.sample(ORG_PROBES, 6):
            add("org_id", dict(base, org_id=probe))
        add("type name", dict(base, type=rng.choice(TYPE_NAME_PROBES)))
        # The members of other types, of wrong types, on this one (the
        # decoder ignores them).
        foreign = {k: rng.choice([[1], "", {"a": {"b": []}}, -1, Raw("1.5"), True]) for k in members - set(reads[t])}
        add("foreign members", dict(base, **foreign))
    # Times: the hand-picked ones and every one-character change of a few.
    time_bases = [b for b in bases if b["type"] in ("lead.status_changed", "lead.deleted")][:3] or bases[:3]
    for i, tm in enumerate(GOOD_TIMES + BAD_TIMES):
        add("occurred_at", dict(time_bases[i % len(time_bases)], occurred_at=tm))
    for seed_time in ("2024-02-29T23:59:60.5+05:30", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999-00:00"):
        for pos in range(len(seed_time) + 1):
            for ch in TIME_CHARS:
                for mutated in (seed_time[:pos] + ch + seed_time[pos + 1:], seed_time[:pos] + ch + seed_time[pos:]):
                    add("occurred_at edit", dict(rng.choice(time_bases), occurred_at=mutated))
            add("occurred_at edit", dict(rng.choice(time_bases), occurred_at=seed_time[:pos] + seed_time[pos + 1:]))
    # Integers.
    for member, t in (("position", "status.upserted"), ("activity_event", "activity.logged")):
        for base in [b for b in bases if b["type"] == t][:2]:
            for probe in INT_PROBES:
                add(member, dict(base, **{member: probe}))
    # fields, where the type reads it.
    for base in [b for b in bases if b["type"] in ("user.upserted", "lead.created", "lead.updated")][:6]:
        for probe in field_probes():
            add("fields", dict(base, fields=probe))
    # Unknown members: nesting, numbers, sizes.
    for i, probe in enumerate(extra_probes()):
        add("unknown member", dict(bases[i % len(bases)], extra=probe))
    # Huge strings: label and activity_name are bounded by the message size only.
    for base in [b for b in bases if b["type"] in ("status.upserted", "activity.logged")][:4]:
        key = "label" if base["type"] == "status.upserted" else "activity_name"
        for n in (0, 1, 100000, 1048000):
            add("huge " + key, dict(base, **{key: "y" * n}))
    # Exactly at and past the message size limit.
    base = dict(bases[0], event_id="size-limit")
    for target in (MAX_EVENT_BYTES, MAX_EVENT_BYTES + 1):
        event = dict(base, pad="")
        event["pad"] = "p" * (target - len(dumps(event).encode()))
        out.append(("message size %d" % target, dumps(event)))
    # Text no value shows: duplicate keys, escapes, non-objects, syntax.
    for base in rng.sample(bases, min(10, len(bases))):
        text = dumps(dict(base, event_id=base["event_id"] + "~raw"))
        first = text[1:text.index(",")]
        out.append(("duplicate key", text[:-1] + "," + first + "}"))
        out.append(("duplicate unknown key", text[:-1] + ',"x":1,"x":1}'))
        out.append(("duplicate escaped key", text[:-1] + ',"ab":1,"\\u0061b":2}'))
        out.append(("lone surrogate", text.replace('"event_id":"', '"event_id":"\\ud800', 1)))
        out.append(("lone low surrogate", text.replace('"event_id":"', '"event_id":"\\udc00', 1)))
        out.append(("surrogate pair", text.replace('"org_id":"', '"org_id":"\\ud83d\\ude00', 1)))
        out.append(("escaped id", text.replace('"event_id":"', '"event_id":"\\u0041\\n\\"', 1)))
        out.append(("trailing text", text + " x"))
        out.append(("byte order mark", "\ufeff" + text))
        out.append(("whitespace", " \t " + json.dumps(parse(text), separators=(" , ", " : ")) + " \r"))
        out.append(("NaN", text[:-1] + ',"x":NaN}'))
        out.append(("Infinity", text[:-1] + ',"x":-Infinity}'))
        out.append(("truncated", text[: rng.randrange(1, len(text))]))
    for text in ("[]", "[1,{}]", '"lead.created"', "42", "null", "true", "{}", '{"type":"lead.deleted"}'):
        out.append(("not an object", text))
    return out


# ------------------------------------------------------------------ running

def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        sys.stderr.write(p.stdout.decode(errors="replace")[-2000:] + p.stderr.decode(errors="replace")[-4000:])
        raise SystemExit("events_schema: %s exited %d" % (os.path.basename(cmd[0]), p.returncode))
    return p


def decode_all(leadflow, lines, work, name):
    """{line index: reason} of the lines the real decoder refuses."""
    path = os.path.join(work, name + ".ndjson")
    dead = os.path.join(work, name + ".dead.ndjson")
    with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        for line in lines:
            assert "\n" not in line and line.strip(" \t\r"), "a line the file ingest would not read as one"
            f.write(line + "\n")
    run([leadflow, "ingest", "--file", path, "--data-dir", os.path.join(work, name + ".data"), "--dead-letters",
         dead, "--apply-workers", "1", "--memory-budget", "256M", "--log-level", "warn"])
    refused = {}
    with open(dead, encoding="utf-8") as f:
        for text in f:
            letter = json.loads(text)
            refused[letter["line"] - 1] = letter["reason"]
    return refused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--leadflow", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("LEADFLOW_SCHEMA_SEED", "12")))
    ap.add_argument("--per-type", type=int, default=int(os.environ.get("LEADFLOW_SCHEMA_BASES", "6")),
                    help="valid events of each type to make variants of")
    args = ap.parse_args()
    started = time.monotonic()
    sys.set_int_max_str_digits(0)  # a 400-digit number is a number, as to the decoder
    rng = random.Random(args.seed)
    failures = []

    def fail(msg):
        failures.append(msg)

    # 1. The schema itself.
    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    types = schema["properties"]["type"]["enum"]
    examples = []
    for t in types:
        for e in schema["$defs"][t].get("examples", []):
            for err in validator.iter_errors(e):
                fail("example of %s invalid: %s" % (t, err.message))
            examples.append(e)
    if set(e["type"] for e in examples) != set(types):
        fail("every type needs an example in $defs")

    # 2. The generator's valid stream.
    valid_path = os.path.join(args.work, "valid.ndjson")
    run([args.gen, "--ndjson", valid_path, "--seed", str(args.seed), "--orgs", "3", "--leads", "150", "--days", "20",
         "--invalid-share", "0", "--dup-share", "0.02", "--ooo-share", "0.05"])
    with open(valid_path, encoding="utf-8") as f:
        valid_lines = [line.rstrip("\n") for line in f if line.strip()]
    valid = []
    invalid = 0
    for i, line in enumerate(valid_lines):
        e = parse(line)
        valid.append(e)
        errors = list(validator.iter_errors(e))
        if errors:
            invalid += 1
            fail("generated event %d invalid: %s: %s" % (i + 1, errors[0].message[:200], line[:300]))
    print("generated events (leadflow-gen --invalid-share 0): %d, valid under the schema: %d; by type: %s" % (
        len(valid), len(valid) - invalid,
        ", ".join("%s %d" % kv for kv in sorted(collections.Counter(e["type"] for e in valid).items()))))

    # 3. The differential.
    cases = [("generated valid", line) for line in valid_lines]
    cases += [("schema example", dumps(e)) for e in examples]
    cases += variants(schema, valid, examples, rng, args.per_type)
    invalid_path = os.path.join(args.work, "invalid.ndjson")
    run([args.gen, "--ndjson", invalid_path, "--seed", str(args.seed + 1), "--orgs", "2", "--leads", "30", "--days",
         "5", "--invalid-share", "0.5"])
    with open(invalid_path, encoding="utf-8", errors="surrogateescape") as f:
        cases += [("generator's invalid mix", line.rstrip("\n")) for line in f if line.strip(" \t\r\n")]
    skipped_corpus = 0
    for name in sorted(os.listdir(args.corpus)):
        with open(os.path.join(args.corpus, name), "rb") as f:
            data = f.read()
        text = data.decode("utf-8", errors="surrogateescape")
        if "\n" in text:
            # One message a line: a newline can only be whitespace between tokens.
            try:
                parse(text)
                text = text.replace("\n", " ")
            except ValueError:
                skipped_corpus += 1
                continue
        if not text.strip(" \t\r"):
            skipped_corpus += 1  # a blank line is no message to `ingest --file`
            continue
        cases.append(("corpus " + name, text))

    lines = [line for _, line in cases]
    t0 = time.monotonic()
    refused = decode_all(args.leadflow, lines, args.work, "differential")
    decode_s = time.monotonic() - t0

    counts = collections.Counter()
    rules = collections.Counter()
    inexpressible_schema_refused = collections.Counter()
    t0 = time.monotonic()
    for i, (label, line) in enumerate(cases):
        try:
            value = parse(line)
            parsed = True
            errors = list(validator.iter_errors(value))
        except (ValueError, RecursionError):  # not JSON (UnicodeError is a ValueError), or too deep for Python
            value, parsed, errors = None, False, []
        schema_ok = parsed and not errors
        show = "[%s] %s" % (label, line[:240].encode("unicode_escape").decode())
        if i not in refused:
            counts["decoder accepts"] += 1
            if schema_ok:
                counts["decoder accepts, schema valid"] += 1
            elif not parsed:
                fail("decoder accepts, no JSON to Python: " + show)
            else:
                fail("decoder accepts, schema refuses (%s at %s): %s" % (
                    errors[0].message[:200], "/".join(map(str, errors[0].absolute_path)), show))
            continue
        reason = refused[i]
        counts["decoder refuses"] += 1
        rule, expressible = classify(reason, value)
        if rule is None:
            fail("a reason this test does not know (state it in the schema or list it here): %r %s" % (reason, show))
            continue
        rules[rule] += 1
        if expressible:
            if schema_ok:
                fail("decoder refuses (%s), schema valid: %s" % (reason, show))
            else:
                counts["decoder refuses, expressible, schema refuses"] += 1
        else:
            counts["decoder refuses, not expressible"] += 1
            if not schema_ok:
                inexpressible_schema_refused[rule] += 1
    check_s = time.monotonic() - t0

    labels = collections.Counter(label.split(" ")[0] if label.startswith("corpus") else label for label, _ in cases)
    print("differential: %d lines (%d kinds of variant, %d corpus files, %d corpus files skipped)" % (
        len(cases), len(labels), sum(1 for l, _ in cases if l.startswith("corpus ")), skipped_corpus))
    for k in ("decoder accepts", "decoder accepts, schema valid", "decoder refuses",
              "decoder refuses, expressible, schema refuses", "decoder refuses, not expressible"):
        print("  %-48s %d" % (k, counts[k]))
    print("refusals by rule (expressible unless marked):")
    inexpressible = set(NOT_EXPRESSIBLE) | {r for r, *_ in PARTLY_EXPRESSIBLE}
    for rule, n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])):
        mark = ""
        if rule in inexpressible:
            mark = "  [not expressible; schema refused %d anyway]" % inexpressible_schema_refused[rule]
        print("  %6d  %s%s" % (n, rule, mark))
    print("time: decoder %.1f s, schema %.1f s, all %.1f s" % (decode_s, check_s, time.monotonic() - started))
    if failures:
        print("\n%d DISAGREEMENTS (first 30):" % len(failures))
        for msg in failures[:30]:
            print("  " + msg)
        return 1
    print("events_schema: no disagreement")
    return 0


if __name__ == "__main__":
    sys.exit(main())
