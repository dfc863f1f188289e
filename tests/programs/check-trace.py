#!/usr/bin/env python3
"""Checks chiwawa-rt --trace-out files with parsers and a validator nobody here wrote: Python's
json module parses each file, jsonschema (Draft 2020-12) validates it against
docs/trace-event.schema.json, and the checks a schema cannot state follow: otherData's counts
are the file's, slices nest (each inside the one open around it, host slices too), and with
the instruction clock a slice at depth 0 spans the run.

    check-trace.py SCHEMA TRACE.json...
"""
import json
import sys

import jsonschema


def check(schema, path):
    with open(path, encoding="utf-8") as f:
        trace = json.load(f)
    jsonschema.Draft202012Validator(schema).validate(trace)
    other = trace["otherData"]
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert other["slices"] == len(slices), f"otherData.slices {other['slices']} != {len(slices)}"
    # Nesting: by start, longest first; a slice starting where the open one ends is outside it
    # unless it takes no time (a host call at the boundary).
    open_ends = []
    for e in sorted(slices, key=lambda e: (e["ts"], -e["dur"])):
        ts, dur = e["ts"], e["dur"]
        while open_ends and (open_ends[-1] < ts or (open_ends[-1] == ts and dur > 0)):
            open_ends.pop()
        assert not open_ends or ts + dur <= open_ends[-1] + 1e-9, f"{e['name']} at {ts}+{dur} leaves its caller"
        open_ends.append(ts + dur)
    if other["clock"] == "instructions" and other["dropped"] == 0:
        outer = [e for e in slices if e["args"]["depth"] == 0]
        assert sum(e["dur"] for e in outer) == other["instructions"], "depth-0 slices do not span the run"
    return len(slices)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sys.argv[2:]:
        n = check(schema, path)
        print(f"check-trace: {path}: valid, {n} slices nest")


if __name__ == "__main__":
    main()
