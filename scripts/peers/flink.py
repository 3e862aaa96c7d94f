"""NEXMark queries on Apache Flink (Flink SQL on its local MiniCluster), reading the JSON-lines
events that `weir nexmark generate` writes and writing the lines docs/nexmark.md specifies.

The SQL is ours, written from the query semantics of docs/nexmark.md in the shape of
nexmark-flink's queries (window table functions, windowed joins for the ties of q5 and q7).
Event time is `date_time`, with a watermark 1 ms behind the latest event: the file is in
`date_time` order, so no event is late, as in weir.

    python flink.py QUERY --parallelism P --input EVENTS.jsonl --output DIR

prints the job's net runtime in milliseconds (Flink's own account, without the JVM and
cluster start) as the last line of standard output, as `job_ms N`.
"""

import glob
import os
import sys
import time

import query_args

# The events as one table: the three kinds share it, as in nexmark-flink, and JSON keys an
# event does not have are NULL.
EVENTS = """CREATE TABLE events (
  `type` STRING, id BIGINT, name STRING, email_address STRING, credit_card STRING,
  city STRING, state STRING, item_name STRING, description STRING, initial_bid BIGINT,
  reserve BIGINT, expires BIGINT, seller BIGINT, category BIGINT, auction BIGINT,
  bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time BIGINT, extra STRING,
  dt AS TO_TIMESTAMP_LTZ(date_time, 3),
  WATERMARK FOR dt AS dt - INTERVAL '0.001' SECOND
) WITH ('connector' = 'filesystem', 'path' = '{input}', 'format' = 'json')"""

VIEWS = [
    "CREATE VIEW bid AS SELECT auction, bidder, price, channel, url, date_time, extra, dt"
    " FROM events WHERE `type` = 'bid'",
    "CREATE VIEW person AS SELECT id, name, email_address, credit_card, city, state,"
    " date_time, extra, dt FROM events WHERE `type` = 'person'",
    "CREATE VIEW auction AS SELECT id, item_name, description, initial_bid, reserve,"
    " date_time, expires, seller, category, extra, dt FROM events WHERE `type` = 'auction'",
]


def millis(column):
    """A window bound (a TIMESTAMP in UTC) as milliseconds since the epoch; windows start
    on whole seconds, so seconds times 1000 is exact, negative ones included."""
    return (
        f"CAST(TIMESTAMPDIFF(SECOND, TIMESTAMP '1970-01-01 00:00:00', {column}) AS BIGINT)"
        " * 1000"
    )


def tumble(table, seconds):
    return f"TABLE(TUMBLE(TABLE {table}, DESCRIPTOR(dt), INTERVAL '{seconds}' SECOND))"


# Each query: the sink's columns (the output line's keys, in order) and its SELECT.
QUERIES = {
    "q0": (
        "auction BIGINT, bidder BIGINT, price BIGINT, date_time BIGINT",
        "SELECT auction, bidder, price, date_time FROM bid",
    ),
    "q1": (
        "auction BIGINT, bidder BIGINT, price BIGINT, date_time BIGINT",
        "SELECT auction, bidder, price * 908 / 1000, date_time FROM bid",
    ),
    "q2": (
        "auction BIGINT, price BIGINT",
        "SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0",
    ),
    "q3": (
        "name STRING, city STRING, state STRING, auction BIGINT",
        "SELECT P.name, P.city, P.state, A.id FROM auction AS A JOIN person AS P"
        " ON A.seller = P.id WHERE A.category = 10"
        " AND LOWER(P.state) IN ('or', 'id', 'ca')",
    ),
    "q5": (
        "window_start BIGINT, window_end BIGINT, auction BIGINT, num BIGINT",
        f"""SELECT {millis('C.window_start')}, {millis('C.window_end')}, C.auction, C.num
        FROM (
          SELECT auction, COUNT(*) AS num, window_start, window_end
          FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dt), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
          GROUP BY auction, window_start, window_end
        ) AS C JOIN (
          SELECT MAX(num) AS most, window_start, window_end FROM (
            SELECT COUNT(*) AS num, window_start, window_end
            FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dt), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
            GROUP BY auction, window_start, window_end
          ) GROUP BY window_start, window_end
        ) AS M
        ON C.window_start = M.window_start AND C.window_end = M.window_end
          AND C.num = M.most""",
    ),
    "q7": (
        "window_start BIGINT, window_end BIGINT, auction BIGINT, bidder BIGINT,"
        " price BIGINT, date_time BIGINT",
        f"""SELECT {millis('B.window_start')}, {millis('B.window_end')}, B.auction,
          B.bidder, B.price, B.date_time
        FROM (SELECT * FROM {tumble('bid', 10)}) AS B
        JOIN (SELECT window_start, window_end, MAX(price) AS most
              FROM {tumble('bid', 10)} GROUP BY window_start, window_end) AS M
        ON B.window_start = M.window_start AND B.window_end = M.window_end
          AND B.price = M.most""",
    ),
    "q8": (
        "id BIGINT, name STRING, window_start BIGINT",
        f"""SELECT P.id, P.name, {millis('P.window_start')}
        FROM (SELECT id, name, window_start, window_end FROM {tumble('person', 10)}
              GROUP BY id, name, window_start, window_end) AS P
        JOIN (SELECT seller, window_start, window_end FROM {tumble('auction', 10)}
              GROUP BY seller, window_start, window_end) AS A
        ON P.id = A.seller AND P.window_start = A.window_start
          AND P.window_end = A.window_end""",
    ),
    "q14": (
        "auction BIGINT, bidder BIGINT, price BIGINT, bid_time_type STRING,"
        " date_time BIGINT, extra STRING, c_counts BIGINT",
        """SELECT auction, bidder, price * 908 / 1000,
          CASE WHEN HOUR(dt) BETWEEN 8 AND 18 THEN 'dayTime'
               WHEN HOUR(dt) <= 6 OR HOUR(dt) >= 20 THEN 'nightTime'
               ELSE 'otherTime' END,
          date_time, extra,
          CAST(CHAR_LENGTH(extra) - CHAR_LENGTH(REPLACE(extra, 'c', '')) AS BIGINT)
        FROM bid WHERE price * 908 > 1000000000 AND price * 908 < 50000000000""",
    ),
    "q21": (
        "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, channel_id STRING",
        """SELECT auction, bidder, price, channel, channel_id FROM (
          SELECT auction, bidder, price, channel,
            CASE LOWER(channel) WHEN 'apple' THEN '0' WHEN 'google' THEN '1'
              WHEN 'facebook' THEN '2' WHEN 'baidu' THEN '3'
              ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) END AS channel_id
          FROM bid) WHERE channel_id IS NOT NULL""",
    ),
    "q22": (
        "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, dir1 STRING,"
        " dir2 STRING, dir3 STRING",
        """SELECT auction, bidder, price, channel, SPLIT_INDEX(url, '/', 3),
          SPLIT_INDEX(url, '/', 4), SPLIT_INDEX(url, '/', 5) FROM bid""",
    ),
}


def main():
    args = query_args.parse(__doc__.split("\n\n")[0], QUERIES)

    from pyflink.table import EnvironmentSettings, TableEnvironment

    tables = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = tables.get_config()
    config.set("parallelism.default", str(args.parallelism))
    config.set("table.local-time-zone", "UTC")
    # The filesystem sink publishes its files when a checkpoint completes; the last one
    # comes when the bounded input has ended.
    config.set("execution.checkpointing.interval", "10s")
    tables.execute_sql(EVENTS.format(input=args.input))
    for view in VIEWS:
        tables.execute_sql(view)
    columns, select = QUERIES[args.query]
    tables.execute_sql(
        f"CREATE TABLE sink ({columns}) WITH ('connector' = 'filesystem',"
        f" 'path' = '{args.output}', 'format' = 'json')"
    )
    began = time.monotonic()
    job = tables.execute_sql(f"INSERT INTO sink {select}").get_job_client()
    result = job.get_job_execution_result().result()
    print(f"wall_ms {int((time.monotonic() - began) * 1000)}", file=sys.stderr)
    print(f"job_ms {result.get_net_runtime()}")
    print(f"peak_rss_bytes {peak_rss_of_children()}")


def peak_rss_of_children():
    """The largest peak resident memory of this process's children: the JVM that py4j
    started, where the job ran (0 where /proc does not say)."""
    peak = 0
    for status in glob.glob("/proc/[0-9]*/status"):
        try:
            with open(status) as file:
                fields = dict(line.split(":", 1) for line in file if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(os.getpid()) and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]) * 1024)
    return peak


if __name__ == "__main__":
    main()
