"""NEXMark queries on Bytewax 0.21, reading the JSON-lines events that `weir nexmark
generate` writes and writing the lines docs/nexmark.md specifies.

Each query is our own Bytewax dataflow: the stateless ones map and filter; q5 and q7 use
Bytewax's event-time windows. Two choices make its windows follow the contract on a file:

- The event clock never advances with the system clock (`now_getter` is constant), so the
  watermark is the latest `date_time` seen and reading fast does not make events late.
- Bytewax keeps a watermark per key, so a key's windows close when that key sees a later
  event or at the end of input. Final results are the same; q5's ranking of a window's
  counts therefore waits for the end of input (`reduce_final`).

    python bytewax_nexmark.py QUERY --parallelism P --input EVENTS.jsonl --output DIR

prints the dataflow's run time in milliseconds as the last line, `job_ms N`.
"""

import json
import os
import re
import time
from datetime import datetime, timedelta, timezone

import query_args

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CHANNEL_ID = re.compile(r"(&|^)channel_id=([^&]*)")
HOT_CHANNELS = {"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}


def line(**fields):
    return json.dumps(fields, separators=(",", ":"))


def bids(flow, events):
    import bytewax.operators as op

    return op.filter("bids", events, lambda event: event["type"] == "bid")


def event_time(bid):
    return EPOCH + timedelta(milliseconds=bid["date_time"])


def clock():
    from bytewax.operators.windowing import EventClock

    return EventClock(
        event_time,
        wait_for_system_duration=timedelta(0),
        now_getter=lambda: EPOCH,
        to_system_utc=lambda _: None,
    )


def q0(flow, events):
    import bytewax.operators as op

    return op.map(
        "q0",
        bids(flow, events),
        lambda b: line(auction=b["auction"], bidder=b["bidder"], price=b["price"], date_time=b["date_time"]),
    )


def q1(flow, events):
    import bytewax.operators as op

    return op.map(
        "q1",
        bids(flow, events),
        lambda b: line(
            auction=b["auction"], bidder=b["bidder"], price=b["price"] * 908 // 1000, date_time=b["date_time"]
        ),
    )


def q2(flow, events):
    import bytewax.operators as op

    kept = op.filter("q2", bids(flow, events), lambda b: b["auction"] % 123 == 0)
    return op.map("q2-line", kept, lambda b: line(auction=b["auction"], price=b["price"]))


def q5(flow, events):
    import bytewax.operators as op
    from bytewax.operators.windowing import SlidingWindower, count_window

    windows = SlidingWindower(length=timedelta(seconds=10), offset=timedelta(seconds=2), align_to=EPOCH)
    counts = count_window("counts", bids(flow, events), clock(), windows, lambda b: str(b["auction"]))
    # (auction, (window id, count)) to (window id, (count, [auctions])), the most per window.
    by_window = op.map(
        "by-window", counts.down, lambda kv: (str(kv[1][0]), (kv[1][1], [int(kv[0])]))
    )

    def most(a, b):
        if a[0] != b[0]:
            return a if a[0] > b[0] else b
        return (a[0], a[1] + b[1])

    tops = op.reduce_final("most", by_window, most)

    def lines(kv):
        start = int(kv[0]) * 2000
        num, auctions = kv[1]
        return [line(window_start=start, window_end=start + 10000, auction=a, num=num) for a in auctions]

    return op.flat_map("q5", tops, lines)


def q7(flow, events):
    import bytewax.operators as op
    from bytewax.operators.windowing import TumblingWindower, fold_window

    keyed = op.key_on("all", bids(flow, events), lambda _: "all")

    def fold(best, b):
        if not best or b["price"] > best[0]["price"]:
            return [b]
        if b["price"] == best[0]["price"]:
            best.append(b)
        return best

    def merge(a, b):
        for bid in b:
            a = fold(a, bid)
        return a

    highest = fold_window(
        "highest",
        keyed,
        clock(),
        TumblingWindower(length=timedelta(seconds=10), align_to=EPOCH),
        list,
        fold,
        merge,
    )

    def lines(kv):
        window, best = kv[1]
        start = window * 10000
        return [
            line(
                window_start=start,
                window_end=start + 10000,
                auction=b["auction"],
                bidder=b["bidder"],
                price=b["price"],
                date_time=b["date_time"],
            )
            for b in best
        ]

    return op.flat_map("q7", highest.down, lines)


def q14(flow, events):
    import bytewax.operators as op

    kept = op.filter(
        "q14", bids(flow, events), lambda b: 1000000000 < b["price"] * 908 < 50000000000
    )

    def shape(b):
        hour = (b["date_time"] // 3600000) % 24
        if 8 <= hour <= 18:
            kind = "dayTime"
        elif hour <= 6 or hour >= 20:
            kind = "nightTime"
        else:
            kind = "otherTime"
        return line(
            auction=b["auction"],
            bidder=b["bidder"],
            price=b["price"] * 908 // 1000,
            bid_time_type=kind,
            date_time=b["date_time"],
            extra=b["extra"],
            c_counts=b["extra"].count("c"),
        )

    return op.map("q14-line", kept, shape)


def q21(flow, events):
    import bytewax.operators as op

    def shape(b):
        channel_id = HOT_CHANNELS.get(b["channel"].lower())
        if channel_id is None:
            found = CHANNEL_ID.search(b["url"])
            if found is None:
                return []
            channel_id = found.group(2)
        return [
            line(auction=b["auction"], bidder=b["bidder"], price=b["price"], channel=b["channel"], channel_id=channel_id)
        ]

    return op.flat_map("q21", bids(flow, events), shape)


def q22(flow, events):
    import bytewax.operators as op

    def shape(b):
        parts = b["url"].split("/")
        dirs = [parts[i] if i < len(parts) else None for i in (3, 4, 5)]
        return line(
            auction=b["auction"],
            bidder=b["bidder"],
            price=b["price"],
            channel=b["channel"],
            dir1=dirs[0],
            dir2=dirs[1],
            dir3=dirs[2],
        )

    return op.map("q22", bids(flow, events), shape)


QUERIES = {"q0": q0, "q1": q1, "q2": q2, "q5": q5, "q7": q7, "q14": q14, "q21": q21, "q22": q22}


def main():
    args = query_args.parse(__doc__.split("\n\n")[0], QUERIES)

    import bytewax.operators as op
    from bytewax._bytewax import cli_main
    from bytewax.connectors.files import FileSink, FileSource
    from bytewax.dataflow import Dataflow

    os.makedirs(args.output, exist_ok=True)
    out = os.path.join(args.output, "output.jsonl")
    # The file sink appends to a file that exists on every worker.
    open(out, "w").close()
    flow = Dataflow(f"nexmark-{args.query}")
    events = op.map("parse", op.input("read", flow, FileSource(args.input)), json.loads)
    # The sink is one partition (one file), which lines reach by a key.
    lines = op.key_on("to-file", QUERIES[args.query](flow, events), lambda _: "")
    op.output("write", lines, FileSink(out))
    began = time.monotonic()
    cli_main(flow, workers_per_process=args.parallelism)
    print(f"job_ms {int((time.monotonic() - began) * 1000)}")


if __name__ == "__main__":
    main()
