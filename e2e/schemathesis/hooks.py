"""The rules between two parameters, which a schema cannot state: a time range does not start
after it ends, and a dashboard range holds a whole 5-minute window and spans ten years at
most. Each value is generated from its parameter's pattern, as the document publishes it;
this hook only reorders or replaces pairs that break these rules."""

import re
from datetime import datetime, timedelta, timezone

import schemathesis

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
RELATIVE = re.compile(r"now(?:\s*-\s*([0-9]+)\s*([smhdw]))?")
# Local times are read as UTC here, so only pairs further apart than any zone's offset count
# as ordered.
MARGIN = timedelta(days=2)


ABSOLUTE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?")
BLANK = " \t\n\r\f"


def present(value):
    return value is not None and str(value).strip(BLANK) != ""


def instant(value, now):
    """The time a generated value stands for, roughly (to the day); None when unreadable."""
    value = str(value).strip(BLANK)
    m = RELATIVE.fullmatch(value)
    if m:
        return now - timedelta(seconds=min(int(m.group(1) or 0) * UNITS.get(m.group(2) or "s", 1), 10**10))
    m = ABSOLUTE.fullmatch(value)
    if not m:
        return None
    year, month, day, hour, minute = (int(g) for g in m.groups()[:5])
    # Year 0 is valid for the server but not for Python; a day's precision is all this needs.
    t = datetime(max(year, 1), month, min(day, 28), hour, minute)
    zone = m.group(7)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        t -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return t


@schemathesis.hook
def map_query(ctx, query):
    if not query:
        return query
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    dashboard = ctx.operation is not None and "/dashboard" in ctx.operation.path
    for start, end in (("dt_from", "dt_to"), ("st_from", "st_to")):
        a = instant(query[start], now) if present(query.get(start)) else None
        b = instant(query[end], now) if present(query.get(end)) else None
        if (present(query.get(start)) and a is None) or (present(query.get(end)) and b is None):
            continue  # a value the form refuses anyway: a negative case, left as generated
        ordered = a is not None and b is not None and a + MARGIN < b
        if dashboard and start == "dt_from":
            if not (ordered and b - a < timedelta(days=3640)):
                query[start], query[end] = "now-1d", "now"
        elif a is not None and b is not None and not ordered:
            query[end] = ""
    return query
