"""Traces read only through boto3's `xray` client, shaped for the ops console and `make trace`.

    python -m mysfits_local.traces [TRACE_ID] [--xray-endpoint URL] [--minutes 60]

prints the latest (or the given) trace as a tree: per (sub)segment its start, duration and what it
did. The endpoint is `--xray-endpoint`, else `AWS_ENDPOINT_URL_XRAY`, else X-Ray in the AWS account.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from .account import CREDENTIALS, REGION

MAX_MINUTES = 6 * 60  # X-Ray answers trace summaries and service graphs for up to six hours at a time
_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, NoCredentialsError)


def xray_client(endpoint: str | None = None, region: str | None = None):
    """boto3's xray client; a local X-Ray takes any credentials, so fake ones do when there are none."""
    session = boto3.session.Session(region_name=region)
    region = session.region_name or REGION
    if session.get_credentials() is None and (endpoint or os.environ.get("AWS_ENDPOINT_URL_XRAY")):
        session = boto3.session.Session(region_name=region, **CREDENTIALS)
    config = botocore.config.Config(connect_timeout=2, read_timeout=15, retries={"max_attempts": 2})
    return session.client("xray", region_name=region, endpoint_url=endpoint, config=config)


def trace_id_of(text: str) -> str | None:
    """The trace id in `text`: a bare id or an `X-Amzn-Trace-Id` header (`Root=1-...;Parent=...`)."""
    match = _TRACE_ID.search(text.strip().lower())
    return match.group(0) if match else None


def _window(minutes: float) -> tuple[float, float]:
    now = time.time()
    return now - 60 * min(max(minutes, 1), MAX_MINUTES), now + 5


def _path(url: str | None) -> str:
    parts = urlsplit(url or "")
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "") if url else ""


def recent(xray, expression: str = "", minutes: float = 60, limit: int = 100) -> list[dict]:
    """The latest traces (newest first) from GetTraceSummaries, one row each."""
    start, end = _window(minutes)
    query = {"StartTime": start, "EndTime": end} | ({"FilterExpression": expression} if expression else {})
    summaries = []
    for page in xray.get_paginator("get_trace_summaries").paginate(**query):
        summaries += page.get("TraceSummaries", [])
        if len(summaries) >= 10 * limit:
            break
    rows = []
    for summary in summaries:
        http, started = summary.get("Http", {}), summary.get("StartTime")
        row = {"id": summary["Id"], "start": started.timestamp() if isinstance(started, datetime) else None}
        row |= {"method": http.get("HttpMethod"), "path": _path(http.get("HttpURL")), "status": http.get("HttpStatus")}
        row["durationMs"] = _ms(summary.get("Duration"))
        row["services"] = [s["Name"] for s in summary.get("ServiceIds", []) if s.get("Name")]
        rows.append(row | {flag: summary.get(f"Has{flag.title()}", False) for flag in ("fault", "error", "throttle")})
    rows.sort(key=lambda row: row["start"] or 0, reverse=True)
    return rows[:limit]


def _ms(seconds) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _node(entity: dict, kind: str) -> dict:
    """One segment or subsegment, the fields a reader looks at, and its children."""
    http, aws = entity.get("http") or {}, entity.get("aws") or {}
    request, response = http.get("request") or {}, http.get("response") or {}
    exceptions = (entity.get("cause") or {}).get("exceptions") if isinstance(entity.get("cause"), dict) else None
    start, end = entity.get("start_time", 0), entity.get("end_time")
    node = {"id": entity.get("id"), "name": entity.get("name", "?"), "kind": kind, "origin": entity.get("origin")}
    node |= {"namespace": entity.get("namespace"), "start": start, "end": end}
    node["durationMs"] = _ms(end - start) if isinstance(end, int | float) else None
    node |= {flag: entity.get(flag) is True for flag in ("error", "fault", "throttle")}
    node["http"] = {"method": request.get("method"), "url": request.get("url"), "status": response.get("status")}
    node["aws"] = {"operation": aws.get("operation"), "table": aws.get("table_name")}
    node["annotations"] = entity.get("annotations") or {}
    node["exception"] = exceptions[0].get("message") if exceptions else None
    node["children"] = [_node(sub, "subsegment") for sub in entity.get("subsegments") or ()]
    return node


def _walk(node: dict):
    yield node
    for child in node["children"]:
        yield from _walk(child)


def build_trace(trace_id: str, documents: list[dict]) -> dict:
    """The trace as a tree: each segment under the (sub)segment that called it, children by start."""
    nodes = [_node(doc, doc.get("type") or "segment") for doc in documents]
    by_id = {entity["id"]: (entity, node) for node in nodes for entity in _walk(node)}
    parents = {node["id"]: documents[i].get("parent_id") for i, node in enumerate(nodes)}
    roots = []
    for node in nodes:
        parent = by_id.get(parents[node["id"]])
        if parent is None or _calls_itself(node, parents, by_id):
            roots.append(node)
        else:
            parent[0]["children"].append(node)
    every = [entity for node in nodes for entity in _walk(node)]
    for entity in [*every, {"children": roots}]:
        entity["children"].sort(key=lambda child: child["start"])
    start = min((e["start"] for e in every), default=0)
    end = max((e["end"] for e in every if e["end"] is not None), default=start)
    return {"id": trace_id, "start": start, "durationMs": _ms(end - start), "roots": roots}


def _calls_itself(node: dict, parents: dict, by_id: dict) -> bool:
    """Whether following the segments' parents up from `node` comes back to it (a malformed trace)."""
    parent, seen = parents[node["id"]], set()
    while parent in by_id and (owner := by_id[parent][1])["id"] not in seen:
        if owner is node:
            return True
        seen.add(owner["id"])
        parent = parents[owner["id"]]
    return False


def get_trace(xray, trace_id: str) -> dict | None:
    """BatchGetTraces for one id, as a tree; None when X-Ray does not hold it."""
    pages = xray.get_paginator("batch_get_traces").paginate(TraceIds=[trace_id])
    traces = [trace for page in pages for trace in page.get("Traces", []) if trace.get("Id") == trace_id]
    documents = [json.loads(segment["Document"]) for trace in traces for segment in trace.get("Segments", [])]
    return build_trace(trace_id, documents) if documents else None


def _stats(summary: dict) -> dict:
    total = summary.get("TotalCount", 0)
    errors = summary.get("ErrorStatistics", {}).get("TotalCount", 0)
    faults = summary.get("FaultStatistics", {}).get("TotalCount", 0)
    average = round(summary.get("TotalResponseTime", 0) / total * 1000, 3) if total else None
    rate = round((errors + faults) / total, 4) if total else 0
    return {"count": total, "errors": errors, "faults": faults, "avgMs": average, "errorRate": rate}


def service_map(xray, minutes: float = 60) -> dict:
    """GetServiceGraph as nodes and edges, each with count, average latency and error rate."""
    start, end = _window(minutes)
    nodes, edges = [], []
    for page in xray.get_paginator("get_service_graph").paginate(StartTime=start, EndTime=end):
        for service in page.get("Services", []):
            node = {"id": service["ReferenceId"], "name": service.get("Name") or service.get("Type") or "?"}
            node |= {"type": service.get("Type"), "root": service.get("Root", False)}
            nodes.append(node | _stats(service.get("SummaryStatistics", {})))
            for edge in service.get("Edges", []):
                link = {"source": service["ReferenceId"], "target": edge["ReferenceId"]}
                edges.append(link | _stats(edge.get("SummaryStatistics", {})))
    return {"nodes": nodes, "edges": edges}


def _label(node: dict) -> str:
    parts = [node["name"] + (f" [{node['origin']}]" if node["origin"] else "")]
    http, aws = node["http"], node["aws"]
    if aws["operation"]:
        parts.append(" ".join(p for p in (aws["operation"], aws["table"]) if p))
    if http["method"] or http["status"]:
        parts.append(" ".join(str(p) for p in (http["method"], _path(http["url"]), http["status"]) if p))
    parts += [flag.upper() for flag in ("fault", "error", "throttle") if node[flag]]
    parts += ["in progress"] if node["end"] is None else []
    if node["annotations"]:
        parts.append(" ".join(f"{key}={value}" for key, value in sorted(node["annotations"].items())))
    parts += [f"({node['exception']})"] if node["exception"] else []
    return "  ".join(parts)


def format_tree(trace: dict) -> str:
    """The trace as lines: `+start ms  duration ms  name  what it did`, children indented."""
    started = datetime.fromtimestamp(trace["start"], UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    lines = [f"trace {trace['id']}  {started} UTC  {trace['durationMs']:.1f} ms"]

    def add(node: dict, depth: int) -> None:
        offset = (node["start"] - trace["start"]) * 1000
        duration = "      ..." if node["durationMs"] is None else f"{node['durationMs']:>6.1f} ms"
        lines.append(f"{offset:>+9.1f} ms {duration}  {'  ' * depth}{_label(node)}")
        for child in node["children"]:
            add(child, depth + 1)

    for root in trace["roots"]:
        add(root, 0)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mysfits_local.traces", description=__doc__.split("\n")[0])
    parser.add_argument("trace_id", nargs="?", help="a trace id or X-Amzn-Trace-Id header (default: the latest)")
    parser.add_argument("--xray-endpoint", help="the X-Ray API (default: AWS_ENDPOINT_URL_XRAY, else AWS)")
    parser.add_argument("--minutes", type=float, default=60, help="how far back to look for the latest (default 60)")
    parser.add_argument(
        "--run-dir", type=Path, help="a running one-machine stack's run directory: its X-Ray stand-in (make trace)"
    )
    args = parser.parse_args(argv)
    endpoint = args.xray_endpoint
    if not endpoint and args.run_dir:
        try:
            endpoint = json.loads((args.run_dir / "stack.json").read_text())["xrayUrl"]
        except (OSError, ValueError, KeyError):
            print(f"no running stack found in {args.run_dir} (start one with `make up`)", file=sys.stderr)
            return 2
    xray = xray_client(endpoint)
    trace_id = trace_id_of(args.trace_id) if args.trace_id else None
    if args.trace_id and trace_id is None:
        print(f"{args.trace_id!r} is not a trace id (1-<8 hex>-<24 hex>)", file=sys.stderr)
        return 2
    try:
        trace_id = trace_id or next((row["id"] for row in recent(xray, minutes=args.minutes, limit=1)), None)
        trace = get_trace(xray, trace_id) if trace_id else None
    except UNREACHABLE as error:
        print(f"cannot reach X-Ray at {xray.meta.endpoint_url}: {error} (is the stack running? `make up`)")
        return 1
    except botocore.exceptions.ClientError as error:
        print(f"X-Ray refused: {error.response.get('Error', {}).get('Message', error)}")
        return 1
    if trace is None:
        print(f"trace {trace_id} not found" if trace_id else f"no traces in the last {args.minutes:g} minutes")
        return 1
    print(format_tree(trace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
