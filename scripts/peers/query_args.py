"""The command line every peer program takes: the query, its parallelism, the events file
and the output directory (run.py starts them so)."""

import argparse


def parse(description, queries):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("query", choices=sorted(queries, key=lambda q: int(q[1:])))
    parser.add_argument("--parallelism", "-p", type=int, default=1)
    parser.add_argument("--input", required=True, help="a JSON-lines events file")
    parser.add_argument("--output", required=True, help="a directory for the output files")
    return parser.parse_args()
