"""Reports: daily rollups in the account's time zone, so a period report reads days, not hours.

`report_day` holds the counts of `report_hour` summed per local day (in `report_mark.zone`) plus
`created_hours`, the conversations created per local hour of that day (the busiest-hours
heatmap), and `report_day_duration` the histograms per local day. Besides one row per day x
inbox x channel x team x agent x priority x tag, each day has a total row per tag, with the
dimensions set to -1 / '*' (a GROUPING SETS row): an unfiltered report reads one row per day.

The daily rows are a function of the hourly rows and the zone: the rollup writes both in the
same transaction, and a change of HUB_TIMEZONE rebuilds the daily rows from the hourly ones
(`report_mark.zone` says which zone they are in; NULL: not built yet). Until then reports read
the hourly rows, which serve any zone.
"""

from hub.db.sql_migration import sql_migration

ID = "2026-12-06T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report rollups per local day with totals, the zone they are in"

_KEY = """day date NOT NULL,
        inbox integer NOT NULL,
        channel text NOT NULL,
        team integer NOT NULL,
        agent integer NOT NULL,
        priority text NOT NULL,
        tag text NOT NULL"""

STATEMENTS = [
    f"""CREATE TABLE report_day (
        {_KEY},
        created integer NOT NULL DEFAULT 0,
        resolved integer NOT NULL DEFAULT 0,
        reopened integer NOT NULL DEFAULT 0,
        messages_in integer NOT NULL DEFAULT 0,
        messages_out integer NOT NULL DEFAULT 0,
        backlog integer NOT NULL DEFAULT 0,
        sla_first_response_met integer NOT NULL DEFAULT 0,
        sla_first_response_breached integer NOT NULL DEFAULT 0,
        sla_next_response_met integer NOT NULL DEFAULT 0,
        sla_next_response_breached integer NOT NULL DEFAULT 0,
        sla_resolution_met integer NOT NULL DEFAULT 0,
        sla_resolution_breached integer NOT NULL DEFAULT 0,
        csat_sent integer NOT NULL DEFAULT 0,
        csat_received integer NOT NULL DEFAULT 0,
        csat_sum integer NOT NULL DEFAULT 0,
        csat_positive integer NOT NULL DEFAULT 0,
        created_hours integer[] NOT NULL,
        PRIMARY KEY (tag, day, inbox, channel, team, agent, priority))""",
    f"""CREATE TABLE report_day_duration (
        {_KEY},
        metric smallint NOT NULL,
        bucket smallint NOT NULL,
        n integer NOT NULL DEFAULT 0,
        total bigint NOT NULL DEFAULT 0,
        -- day before metric: a report reads every metric of a range of days
        PRIMARY KEY (tag, day, inbox, channel, team, agent, priority, metric, bucket))""",
    # The day totals (a report without dimension filters) without reading past the per-dimension
    # rows of the same days; report_day's total rows are one per day and need no index of their own.
    "CREATE INDEX report_day_duration_total_idx ON report_day_duration (tag, day)"
    " WHERE inbox = -1",
    # Element-wise sum of two equally long arrays (the upsert of `created_hours`).
    """CREATE FUNCTION report_add_arrays(a integer[], b integer[]) RETURNS integer[]
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT array_agg(x + y ORDER BY n) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, n) $$""",
    "ALTER TABLE report_mark ADD COLUMN zone text",
]


forwards = sql_migration(ID, DESCRIPTION, STATEMENTS)
