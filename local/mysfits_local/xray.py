"""A local stand-in for the X-Ray daemon and the X-Ray API, in one process, on one port (UDP and TCP).

    python -m mysfits_local.xray --host 127.0.0.1 --port 2000 [--max-traces 10000] [--max-mb 32]

UDP, as the daemon: a datagram is `{"format":"json","version":1}`, a newline and one segment document.
Subsegments sent on their own (`"type": "subsegment"`, `trace_id`, `parent_id`: the SDK streams them)
are put back inside their parent when the trace is read. A datagram over 64,000 bytes (X-Ray's 64 kB
document limit), without that header, not JSON or not a valid segment is counted and dropped.

HTTP, the X-Ray API (rest-json) for boto3's `xray` client (`AWS_ENDPOINT_URL_XRAY`): PutTraceSegments,
GetTraceSummaries, BatchGetTraces, GetServiceGraph, GetTraceGraph; for the SDK's centralized sampler,
GetSamplingRules (one rule, X-Ray's `Default`: 1 request a second, then 5%) and GetSamplingTargets.

Memory is bounded: at most `--max-traces` traces (default 10,000) and `--max-mb` MB of segment JSON
(default 32, as received); past either cap the oldest traces (by first arrival) are evicted. With
the defaults, after 100,000 small segments the process holds 10,000 traces in about 65 MB (RSS).

GetTraceSummaries picks traces by the start of their first segment, in pages of 100, and ignores
`Sampling`. FilterExpression: terms joined by AND; anything else (OR, NOT, parentheses, `{}`) is an
InvalidRequestException. Terms: `service("name")` (a service or resource on the trace's path);
`fault`, `error`, `throttle`, `ok`, `partial` (optionally `= true|false`); `http.status`, `responsetime`
(the root segment's) and `duration` (the trace's) with = != < <= > >= and a number; `http.url`,
`http.method`, `http.useragent`, `http.clientip` with = != CONTAINS BEGINSWITH ENDSWITH and "text";
`annotation.<key>` with those operators and "text", a number or true/false.

Service graph: a node per service (a segment's `name`, Type its `origin` if any); a `client` node
calling each root segment; a node per call out that nothing traced answers: `namespace: aws`
subsegments (named "dynamodb" by the SDK, any case: the `aws.table_name`, Type AWS::DynamoDB::Table,
or without a table "DynamoDB", AWS::DynamoDB; other services: the subsegment's name, Type
`AWS::<name>`) and `namespace: remote` ones (the host of `http.request.url`, Type `remote`). A call
whose subsegment is a segment's `parent_id` is an edge to that segment's service instead. Each call
counts on its edge and target: ok, error (throttle, other), fault, total, total response time, and
a response time histogram (1 ms resolution).

Not AWS, for tests and operators: `GET /_local/stats` (received, stored, dropped by reason, held).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import logging
import operator
import re
import signal
import socket
import sys
import time
from collections import Counter, OrderedDict
from urllib.parse import urlsplit

from aiohttp import web

from . import name_no_version
from .account import ACCOUNT, REGION

log = logging.getLogger("xray")

HEADER = {"format": "json", "version": 1}
MAX_DOCUMENT_BYTES = 64_000  # X-Ray's "64 kB" per segment document (UDP itself carries up to 65,507 bytes)
DEFAULT_MAX_TRACES = 10_000
DEFAULT_MAX_MB = 32
PAGE_SIZE = 100
MIB = 1024 * 1024
CLIENT = (None, "client")  # the graph node for whoever called a trace's root segment
_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_SEGMENT_ID = re.compile(r"[0-9a-f]{16}")
DEFAULT_RULE = {
    "RuleName": "Default",
    "RuleARN": f"arn:aws:xray:{REGION}:{ACCOUNT}:sampling-rule/Default",
    **dict.fromkeys(("ResourceARN", "ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath"), "*"),
    **{"Priority": 10000, "FixedRate": 0.05, "ReservoirSize": 1, "Version": 1, "Attributes": {}},
}


class XRayError(Exception):
    def __init__(self, message: str, code: str = "InvalidRequestException", status: int = 400):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


class Dropped(Exception):
    """A document that is not stored: why (a stats key) and what was wrong."""

    def __init__(self, reason: str, message: str, doc_id: str = ""):
        super().__init__(message)
        self.reason, self.message, self.doc_id = reason, message, doc_id


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _obj(value) -> dict:
    return value if isinstance(value, dict) else {}


def walk(entity: dict):
    """The entity and every subsegment inside it."""
    stack = [entity]
    while stack:
        yield (current := stack.pop())
        stack.extend(current.get("subsegments") or ())


# -- documents and the store ---------------------------------------------------------


def parse_document(text: bytes | str) -> dict:
    """A segment or subsegment document, checked as X-Ray checks it, or Dropped."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise Dropped("bad_json", f"not JSON: {str(error)[:100]}") from None
    if not isinstance(doc, dict):
        raise Dropped("invalid_segment", "a segment document is a JSON object")
    doc_id = doc["id"] if isinstance(doc.get("id"), str) else ""
    if not _TRACE_ID.fullmatch(str(doc.get("trace_id"))):
        raise Dropped("invalid_segment", "trace_id must be 1-<8 hex>-<24 hex>", doc_id)
    if doc.get("type") == "subsegment" and not _SEGMENT_ID.fullmatch(str(doc.get("parent_id"))):
        raise Dropped("invalid_segment", "a subsegment sent on its own needs a parent_id (16 hex)", doc_id)
    stack = [doc]
    while stack:
        entity = stack.pop()
        if not (
            isinstance(entity, dict)
            and isinstance(entity.get("name"), str)
            and entity["name"]
            and _SEGMENT_ID.fullmatch(str(entity.get("id")))
            and _number(entity.get("start_time"))
            and (_number(entity.get("end_time")) or entity.get("in_progress") is True)
            and isinstance(entity.get("subsegments", []), list)
        ):
            raise Dropped("invalid_segment", "every (sub)segment needs name, id (16 hex), start_time, end_time", doc_id)
        stack.extend(entity.get("subsegments", []))
    return doc


def assemble(docs: list[dict]) -> list[dict]:
    """A trace's segments with their streamed subsegments put back inside, as X-Ray returns them."""
    streamed = [doc for doc in docs if doc.get("type") == "subsegment"]
    segments = [doc for doc in docs if doc.get("type") != "subsegment"]
    if not streamed:
        return segments
    segments, streamed = copy.deepcopy(segments), copy.deepcopy(streamed)
    by_id = {entity["id"]: entity for doc in segments + streamed for entity in walk(doc)}
    for sub in streamed:
        parent = by_id.get(sub["parent_id"])
        if parent is not None and parent is not sub:
            parent.setdefault("subsegments", []).append(sub)
    return segments


class Store:
    """The traces held, oldest first, within the caps; and the counters."""

    def __init__(self, max_traces: int = DEFAULT_MAX_TRACES, max_bytes: int = DEFAULT_MAX_MB * MIB):
        self.max_traces, self.max_bytes = max_traces, max_bytes
        self.traces: OrderedDict[str, dict[str, tuple[dict, int]]] = OrderedDict()  # id -> {doc id: (doc, size)}
        self.bytes = self.documents = 0
        self.counts: Counter = Counter()  # received, stored, evicted
        self.dropped: Counter = Counter()
        self.examples: dict[str, str] = {}
        self._logged: tuple[Counter, Counter] = (Counter(), Counter())

    def receive(self, data: bytes) -> None:
        """One UDP datagram: header line, newline, document."""
        self.counts["received"] += 1
        try:
            if len(data) > MAX_DOCUMENT_BYTES:
                raise Dropped("oversized", f"{len(data)} bytes, over {MAX_DOCUMENT_BYTES}")
            header, newline, body = data.partition(b"\n")
            with contextlib.suppress(ValueError, RecursionError):
                if newline and json.loads(header) == HEADER:
                    return self.add(parse_document(body), len(body))
            raise Dropped("bad_header", 'a datagram starts with {"format":"json","version":1} and a newline')
        except Dropped as dropped:
            self.drop(dropped)

    def drop(self, dropped: Dropped) -> None:
        self.dropped[dropped.reason] += 1
        self.examples[dropped.reason] = dropped.message

    def add(self, doc: dict, size: int) -> None:
        trace = self.traces.setdefault(doc["trace_id"], {})
        old, old_size = trace.get(doc["id"], (None, 0))
        if old is not None and doc.get("in_progress") and not old.get("in_progress"):
            return  # a late in-progress copy never replaces the finished document
        trace[doc["id"]] = (doc, size)
        self.bytes += size - old_size
        self.documents += old is None
        self.counts["stored"] += 1
        while len(self.traces) > self.max_traces or self.bytes > self.max_bytes:
            _, evicted = self.traces.popitem(last=False)
            self.bytes -= sum(size for _, size in evicted.values())
            self.documents -= len(evicted)
            self.counts["evicted"] += 1

    def held(self, window: tuple[float, float] | None = None, ids: list[str] | None = None):
        """(trace id, start, segments) of the traces held that have a segment, by start time or by id."""
        chosen = ((i, self.traces.get(i)) for i in ids) if ids is not None else self.traces.items()
        for trace_id, trace in chosen:
            docs = [doc for doc, _ in (trace or {}).values()]
            start = min((d["start_time"] for d in docs if d.get("type") != "subsegment"), default=None)
            if start is not None and (window is None or window[0] <= start <= window[1]):
                yield trace_id, start, assemble(docs)

    def stats(self) -> dict:
        return {key: self.counts[key] for key in ("received", "stored", "evicted")} | {
            "dropped": dict(self.dropped),
            **{"traces": len(self.traces), "documents": self.documents, "bytes": self.bytes},
            **{"max_traces": self.max_traces, "max_bytes": self.max_bytes},
        }

    def report(self) -> None:
        """One log line for what was stored, and one per drop reason, since the last report."""
        counts, dropped = self.counts - self._logged[0], self.dropped - self._logged[1]
        if counts["stored"] or counts["evicted"]:
            fields = {"segments": counts["stored"], "evicted": counts["evicted"], "traces": len(self.traces)}
            log.info("stored", extra={"fields": fields})
        for reason, count in dropped.items():
            log.warning("dropped", extra={"fields": {"reason": reason, "count": count, "why": self.examples[reason]}})
        self._logged = (self.counts.copy(), self.dropped.copy())


# -- what a trace says: nodes, calls, summary ----------------------------------------


def service_node(segment: dict) -> tuple:
    origin = segment.get("origin")
    return (segment["name"], origin if isinstance(origin, str) else None)


def resource_node(sub: dict) -> tuple:
    """The node a downstream call reaches when nothing traced answers it."""
    if sub.get("namespace") == "aws":
        table = _obj(sub.get("aws")).get("table_name")
        if sub["name"].lower() == "dynamodb":  # the SDK names it after the endpoint prefix, "dynamodb"
            return (table, "AWS::DynamoDB::Table") if isinstance(table, str) else ("DynamoDB", "AWS::DynamoDB")
        return (sub["name"], f"AWS::{sub['name']}")
    url = _obj(_obj(_obj(sub.get("http")).get("request"))).get("url")
    with contextlib.suppress(ValueError):
        return (urlsplit(url if isinstance(url, str) else "").hostname or sub["name"], "remote")
    return (sub["name"], "remote")


def graph_of(segments: list[dict]) -> tuple[list, list]:
    """A trace's nodes with what they served, [(node, entity)], and its calls, [(source, target, entity)]."""
    owner = {entity["id"]: service_node(segment) for segment in segments for entity in walk(segment)}
    traced = {segment.get("parent_id") for segment in segments}
    served, calls = [], []
    for segment in segments:
        node = service_node(segment)
        served.append((node, segment))
        calls.append((owner.get(segment.get("parent_id"), CLIENT), node, segment))
        stack = list(segment.get("subsegments") or ())
        while stack:  # the calls out (namespace aws or remote), not looking inside them
            sub = stack.pop()
            if sub.get("namespace") not in ("aws", "remote"):
                stack.extend(sub.get("subsegments") or ())
            elif sub["id"] not in traced:
                served.append((target := resource_node(sub), sub))
                calls.append((node, target, sub))
    return served, calls


def service_id(node: tuple) -> dict:
    return {"Name": node[0], "Names": [node[0]]} | ({"Type": node[1]} if node[1] else {})


def summarize(trace_id: str, start: float, segments: list[dict]) -> dict:
    """A TraceSummary, as GetTraceSummaries answers it."""
    entities = [entity for segment in segments for entity in walk(segment)]
    ids = {entity["id"] for entity in entities}
    by_start = sorted(segments, key=lambda segment: segment["start_time"])
    root = next((segment for segment in by_start if segment.get("parent_id") not in ids), by_start[0])
    ends = [segment["end_time"] for segment in segments if _number(segment.get("end_time"))]
    request = _obj(_obj(root.get("http")).get("request"))
    http = {"HttpURL": request.get("url"), "HttpMethod": request.get("method"), "UserAgent": request.get("user_agent")}
    http |= {
        "ClientIp": request.get("client_ip"),
        "HttpStatus": _obj(_obj(root.get("http")).get("response")).get("status"),
    }
    summary = {
        "Id": trace_id,
        "StartTime": start,
        **{key: any(e.get(flag) is True for e in entities) for key, flag in FLAG_KEYS.items()},
        "Http": {key: value for key, value in http.items() if value not in (None, "")},
        "ServiceIds": [service_id(node) for node in dict.fromkeys(node for node, _ in graph_of(segments)[0])],
        "EntryPoint": service_id(service_node(root)),
        "Annotations": {},
        "Revision": 1,
    }
    if ends:
        summary["Duration"] = max(ends) - start
    if _number(root.get("end_time")):
        summary["ResponseTime"] = root["end_time"] - root["start_time"]
    for segment in segments:
        owner = service_id(service_node(segment))
        for entity in walk(segment):
            for key, raw in _obj(entity.get("annotations")).items():
                kind = {bool: "BooleanValue", int: "NumberValue", float: "NumberValue", str: "StringValue"}.get(
                    type(raw)
                )
                if kind:
                    values = summary["Annotations"].setdefault(key, [])
                    known = next((v for v in values if v["AnnotationValue"] == {kind: raw}), None)
                    if known is None:
                        values.append({"AnnotationValue": {kind: raw}, "ServiceIds": [owner]})
                    elif owner not in known["ServiceIds"]:
                        known["ServiceIds"].append(owner)
    return summary


class Statistics:
    """The calls a node served or an edge carried."""

    def __init__(self):
        self.counts, self.histogram, self.total_time = Counter(), Counter(), 0.0

    def add(self, entity: dict) -> None:
        if not _number(entity.get("end_time")):
            return  # still in progress: no response time yet
        elapsed = entity["end_time"] - entity["start_time"]
        self.total_time += elapsed
        self.histogram[round(elapsed, 3)] += 1
        flag = next((flag for flag in ("fault", "throttle", "error") if entity.get(flag) is True), "ok")
        self.counts[flag] += 1

    def summary(self) -> dict:
        ok, throttle, error, fault = (self.counts[key] for key in ("ok", "throttle", "error", "fault"))
        return {
            "OkCount": ok,
            "ErrorStatistics": {"ThrottleCount": throttle, "OtherCount": error, "TotalCount": throttle + error},
            "FaultStatistics": {"OtherCount": fault, "TotalCount": fault},
            "TotalCount": ok + throttle + error + fault,
            "TotalResponseTime": self.total_time,
        }

    def histogram_entries(self) -> list[dict]:
        return [{"Value": value, "Count": count} for value, count in sorted(self.histogram.items())]


def service_graph(traces: list[list[dict]]) -> list[dict]:
    """The Services of GetServiceGraph / GetTraceGraph for these traces' segments."""
    nodes: dict[tuple, Statistics] = {}
    edges: dict[tuple, Statistics] = {}
    for segments in traces:
        served, calls = graph_of(segments)
        for node, entity in served:
            nodes.setdefault(node, Statistics()).add(entity)
        for source, target, entity in calls:
            nodes.setdefault(source, Statistics())
            edges.setdefault((source, target), Statistics()).add(entity)
    reference = {node: number for number, node in enumerate(nodes)}
    services = []
    for node, stats in nodes.items():
        service = {"ReferenceId": reference[node], "Root": (CLIENT, node) in edges, "State": "active"}
        service |= service_id(node) if node != CLIENT else {"Type": "client"}
        if node != CLIENT:
            service["SummaryStatistics"] = stats.summary()
            service["ResponseTimeHistogram"] = service["DurationHistogram"] = stats.histogram_entries()
        service["Edges"] = [
            {"ReferenceId": reference[target], "SummaryStatistics": edge.summary(), "Aliases": []}
            | {"ResponseTimeHistogram": edge.histogram_entries()}
            for (source, target), edge in edges.items()
            if source == node
        ]
        services.append(service)
    return services


# -- filter expressions --------------------------------------------------------------

FLAG_KEYS = {"HasFault": "fault", "HasError": "error", "HasThrottle": "throttle", "IsPartial": "in_progress"}
FLAGS = {"fault": "HasFault", "error": "HasError", "throttle": "HasThrottle", "partial": "IsPartial"}
FIELDS = {  # a filter field: where a summary keeps it, and the kind of value it compares with
    "http.status": ("Http", "HttpStatus", float),
    "responsetime": (None, "ResponseTime", float),
    "duration": (None, "Duration", float),
    "http.url": ("Http", "HttpURL", str),
    "http.method": ("Http", "HttpMethod", str),
    "http.useragent": ("Http", "UserAgent", str),
    "http.clientip": ("Http", "ClientIp", str),
}
OPERATORS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt}
OPERATORS |= {">=": operator.ge, "contains": operator.contains, "beginswith": str.startswith, "endswith": str.endswith}
_AND = re.compile(r'\s+AND\s+(?=(?:[^"]*"[^"]*")*[^"]*$)', re.IGNORECASE)  # an AND outside quotes
_SERVICE = re.compile(r'service\(\s*"([^"]*)"\s*\)', re.IGNORECASE)
_FLAG = re.compile(r"(fault|error|throttle|ok|partial)(?:\s*=\s*(true|false))?", re.IGNORECASE)
_COMPARE = re.compile(
    r'(\w+(?:\.\w+)?)\s*(>=|<=|!=|=|<|>|\s(?:contains|beginswith|endswith)\s)\s*("[^"]*"|-?\d+(?:\.\d+)?|true|false)',
    re.IGNORECASE,
)


def _kind(value) -> type | None:
    return bool if isinstance(value, bool) else float if _number(value) else str if isinstance(value, str) else None


def parse_filter(expression: str):
    """A predicate over a TraceSummary for the subset of X-Ray filter expressions the module states."""
    predicates = [parse_term(term.strip(), expression) for term in _AND.split(expression)] if expression.strip() else []
    return lambda summary: all(predicate(summary) for predicate in predicates)


def parse_term(term: str, expression: str):
    if match := _SERVICE.fullmatch(term):
        return lambda summary: any(match[1] in service["Names"] for service in summary["ServiceIds"])
    if match := _FLAG.fullmatch(term):
        flag, wanted = match[1].lower(), (match[2] or "true").lower() == "true"
        if flag == "ok":
            return lambda summary: (not any(summary[key] for key in ("HasFault", "HasError", "HasThrottle"))) == wanted
        return lambda summary: summary[FLAGS[flag]] == wanted
    match = _COMPARE.fullmatch(term)
    field, op, literal = (match[1], match[2].strip().lower(), match[3]) if match else ("", "", "")
    value = (
        literal[1:-1] if literal[:1] == '"' else literal.lower() == "true" if literal.isalpha() else float(literal or 0)
    )
    if field.lower() in FIELDS and FIELDS[field.lower()][2] is _kind(value):
        group, key, kind = FIELDS[field.lower()]

        def values(summary: dict) -> list:
            return [(summary.get(group) or {} if group else summary).get(key)]
    elif field.lower().startswith("annotation."):
        key, kind = field[len("annotation.") :], _kind(value)

        def values(summary: dict) -> list:
            return [next(iter(v["AnnotationValue"].values())) for v in summary["Annotations"].get(key, [])]
    else:
        kind = None
    ordering, text = op in ("<", "<=", ">", ">="), op in ("contains", "beginswith", "endswith")
    if kind is None or (ordering and kind is not float) or (text and kind is not str):
        raise XRayError(
            f"Unsupported filter expression {expression!r} (at {term!r}). The local X-Ray supports terms joined by "
            'AND: service("name"); fault, error, throttle, ok, partial [= true|false]; http.status, responsetime, '
            "duration with = != < <= > >= and a number; http.url, http.method, http.useragent, http.clientip with "
            '= != CONTAINS BEGINSWITH ENDSWITH and "text"; annotation.key with those and "text", a number or a boolean.'
        )
    compare = OPERATORS[op]
    return lambda summary: any(_kind(got) is kind and compare(got, value) for got in values(summary))


# -- the X-Ray API -------------------------------------------------------------------


def _timestamp(body: dict, name: str) -> float:
    if not _number(body.get(name)):
        raise XRayError(f"{name} is required: a timestamp in epoch seconds")
    return float(body[name])


def _list_of(body: dict, name: str, kind: type) -> list:
    value = body.get(name)
    if not isinstance(value, list) or not all(isinstance(item, kind) for item in value):
        raise XRayError(f"{name} is required: a list of {kind.__name__}")
    return value


class XRayApi:
    """The X-Ray API over a Store: each operation takes the request body and answers the response body."""

    def __init__(self, store: Store):
        self.store, self.started = store, time.time()
        self.operations = {
            "/TraceSegments": self.put_trace_segments,
            "/TraceSummaries": self.get_trace_summaries,
            "/Traces": self.batch_get_traces,
            "/ServiceGraph": self.get_service_graph,
            "/TraceGraph": self.get_trace_graph,
            "/GetSamplingRules": self.get_sampling_rules,
            "/SamplingTargets": self.get_sampling_targets,
        }

    def app(self) -> web.Application:
        app = web.Application(middlewares=[errors], client_max_size=8 * MIB)
        name_no_version(app, "mysfits-xray")
        app.router.add_get("/_local/stats", lambda request: web.json_response(self.store.stats()))
        app.router.add_route("*", "/{path:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        operation = self.operations.get(request.path) if request.method == "POST" else None
        if operation is None:
            served = ", ".join(f"POST {path}" for path in self.operations)
            message = f"No X-Ray operation at {request.method} {request.path}; this stand-in serves {served}"
            raise XRayError(message, "UnknownOperationException", 404)
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise XRayError("The request body is not JSON") from None
        if not isinstance(body, dict):
            raise XRayError("The request body must be a JSON object")
        return web.json_response(operation(body))

    def put_trace_segments(self, body: dict) -> dict:
        documents, unprocessed = _list_of(body, "TraceSegmentDocuments", str), []
        for document in documents:
            self.store.counts["received"] += 1
            try:
                if (size := len(document.encode())) > MAX_DOCUMENT_BYTES:
                    raise Dropped("oversized", f"{size} bytes, over {MAX_DOCUMENT_BYTES}")
                self.store.add(parse_document(document), size)
            except Dropped as dropped:
                self.store.drop(dropped)
                unprocessed.append({"Id": dropped.doc_id, "ErrorCode": dropped.reason, "Message": dropped.message})
        log.info("PutTraceSegments", extra={"fields": {"documents": len(documents), "unprocessed": len(unprocessed)}})
        return {"UnprocessedTraceSegments": unprocessed}

    def get_trace_summaries(self, body: dict) -> dict:
        window = (_timestamp(body, "StartTime"), _timestamp(body, "EndTime"))
        matches, after = parse_filter(str(body.get("FilterExpression") or "")), None
        if body.get("NextToken"):
            start, _, trace_id = str(body["NextToken"]).partition("|")
            try:
                after = (float(start), trace_id)
            except ValueError:
                raise XRayError("NextToken is not one this stand-in gave") from None
        found, processed = [], 0
        for trace_id, start, segments in self.store.held(window):
            processed += 1
            summary = summarize(trace_id, start, segments) if after is None or (start, trace_id) > after else None
            if summary and matches(summary):
                found.append(((start, trace_id), summary))
        found.sort(key=lambda item: item[0])
        answer = {"TraceSummaries": [summary for _, summary in found[:PAGE_SIZE]], "ApproximateTime": time.time()}
        if len(found) > PAGE_SIZE:
            answer["NextToken"] = "{!r}|{}".format(*found[PAGE_SIZE - 1][0])
        return answer | {"TracesProcessedCount": processed}

    def batch_get_traces(self, body: dict) -> dict:
        ids, traces = _list_of(body, "TraceIds", str), []
        for trace_id, start, segments in self.store.held(ids=ids):
            ends = [segment["end_time"] for segment in segments if _number(segment.get("end_time"))]
            documents = [{"Id": s["id"], "Document": json.dumps(s, separators=(",", ":"))} for s in segments]
            duration = max(ends) - start if ends else 0.0
            traces.append({"Id": trace_id, "Duration": duration, "LimitExceeded": False, "Segments": documents})
        found = {trace["Id"] for trace in traces}
        return {"Traces": traces, "UnprocessedTraceIds": [i for i in ids if i not in found]}

    def get_service_graph(self, body: dict) -> dict:
        window = (_timestamp(body, "StartTime"), _timestamp(body, "EndTime"))
        services = service_graph([segments for _, _, segments in self.store.held(window)])
        return {"StartTime": window[0], "EndTime": window[1], "Services": services, "ContainsOldGroupVersions": False}

    def get_trace_graph(self, body: dict) -> dict:
        ids = _list_of(body, "TraceIds", str)
        return {"Services": service_graph([segments for _, _, segments in self.store.held(ids=ids)])}

    def get_sampling_rules(self, body: dict) -> dict:
        record = {"SamplingRule": DEFAULT_RULE, "CreatedAt": self.started, "ModifiedAt": self.started}
        return {"SamplingRuleRecords": [record]}

    def get_sampling_targets(self, body: dict) -> dict:
        targets, unprocessed = [], []
        for document in _list_of(body, "SamplingStatisticsDocuments", dict):
            name = str(document.get("RuleName"))
            if name == "Default":
                quota = {"ReservoirQuota": DEFAULT_RULE["ReservoirSize"], "ReservoirQuotaTTL": time.time() + 60}
                targets.append({"RuleName": name, "FixedRate": DEFAULT_RULE["FixedRate"], "Interval": 10} | quota)
            else:
                unprocessed.append({"RuleName": name, "ErrorCode": "400", "Message": f"No sampling rule {name!r}"})
        answer = {"SamplingTargetDocuments": targets, "UnprocessedStatistics": unprocessed}
        return answer | {"LastRuleModification": self.started}


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    """Every answer is JSON, errors as X-Ray's: `{"__type", "Message"}` and `x-amzn-ErrorType`."""
    try:
        return await handler(request)
    except XRayError as error:
        code, message, status = error.code, error.message, error.status
    except web.HTTPException as error:  # aiohttp's own refusals, such as a body over the limit
        code, message, status = "InvalidRequestException", error.text or error.reason, error.status
    except Exception:
        log.exception("failed: %s %s", request.method, request.path)
        code, message, status = "InternalFailure", "The local X-Ray failed; its log says why", 500
    return web.json_response({"__type": code, "Message": message}, status=status, headers={"x-amzn-ErrorType": code})


# -- the process ---------------------------------------------------------------------


class DaemonProtocol(asyncio.DatagramProtocol):
    def __init__(self, store: Store):
        self.store = store

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            self.store.receive(data)
        except Exception as error:  # a bug here must not stop the daemon: count it, carry on
            self.store.drop(Dropped("internal_error", repr(error)[:200]))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name}
        line |= {"message": record.getMessage(), **getattr(record, "fields", {})}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


async def serve(store: Store, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: DaemonProtocol(store), local_addr=(host, port))
    with contextlib.suppress(OSError):  # room for bursts (the kernel caps it at net.core.rmem_max)
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MIB)
    runner = web.AppRunner(XRayApi(store).app(), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()  # after UDP: an answer on TCP means both are ready
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    fields = {"udp": f"{host}:{port}", "api": f"http://{host}:{port}"}
    log.info("listening", extra={"fields": fields | {"max_traces": store.max_traces, "max_bytes": store.max_bytes}})
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
        store.report()
    transport.close()
    await runner.cleanup()
    log.info("stopped", extra={"fields": store.stats()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mysfits_local.xray",
        description="Local X-Ray daemon (UDP) and X-Ray API (HTTP), both on --port. Memory is capped: at most "
        "--max-traces traces and --max-mb MB of segment JSON; past either, the oldest traces are evicted.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2000, help="the UDP and TCP port (default 2000)")
    parser.add_argument("--max-traces", type=int, default=DEFAULT_MAX_TRACES, help="traces held (default 10,000)")
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB, help="MB of segment JSON held (default 32)")
    args = parser.parse_args(argv)
    if args.max_traces < 1 or args.max_mb <= 0:
        parser.error("--max-traces and --max-mb must be positive")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    asyncio.run(serve(Store(args.max_traces, int(args.max_mb * MIB)), args.host, args.port))


if __name__ == "__main__":
    main()
