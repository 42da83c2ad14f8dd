"""Benchmark the one-machine stack: `make bench`.

Starts its own stack on free ports, then loads it with wrk (16 connections, 2 threads) and
prints requests/s, p50 and p99 latency for list, filter and get-one, straight to the
catalog service (as the load balancer reaches it) and through the API Gateway stand-in,
plus the serving processes' CPU milliseconds per request. Then like and adopt through the
gateway, each request by a different signed-in visitor (and, for adopt, on a different
mysfit, so every adoption is a real one), with every part's CPU per request (wrk's too) and
the rate that CPU allows on this machine's cores and through the embedded AWS (one request at
a time). Then the click pipeline: clicks accepted per second through the gateway (PUT /clicks,
the Firehose stand-in behind it), and the click enricher's records/s on a 500-record Firehose
batch over the 12 mysfits, cold (empty cache: one catalog call per distinct mysfit) and warm
(no catalog call), with its catalog calls.
The site's first view in headless Chromium (Debian's): bytes on the wire by type, and the time
to a full grid with the images in view, median and p90 over SITE_LOADS loads with an empty cache.
Targets (2-core machine) are printed beside the figures; a figure below its target is
marked, not hidden.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from mysfits_local.account import CREDENTIALS, REGION
from mysfits_local.identity import cognito_client, embedded_client, sign_in_visitor
from mysfits_local.processes import Process, free_port
from mysfits_local.stack import DEFAULT_PORTS, Stack
from mysfits_testkit.invocation import firehose_event, lambda_context

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONNECTIONS = 16
THREADS = 2
VISITORS = 200
ADOPTIONS_PER_SECOND = 800  # more than a run can adopt (fresh mysfits per second of run), so none meets a 409
PASSWORD = "Bench-Pass-1!"  # noqa: S105 - a throwaway visitor on the local pool


@dataclass
class Result:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_request: float
    cpu_ms_by_part: dict[str, float] | None = None  # every part's CPU per request, and wrk's (the client)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(output: str) -> tuple[int, float, float, float, int]:
    """Requests, requests/s, p50 ms, p99 ms and non-2xx/3xx + socket errors from `wrk --latency`."""
    latency = {m[0]: _ms(m[1], m[2]) for m in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)}
    total = int(re.search(r"(\d+) requests in", output).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return total, rps, latency["50"], latency["99"], errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its children (gunicorn master and workers)."""
    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def warm_up(seconds: int) -> int:
    """How long to run before measuring: steady state, not first-request costs (at most 2 s)."""
    return min(2, seconds)


def children_cpu_seconds() -> float:
    """User + system CPU of this process's finished children (wrk, once it has been waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    name: str,
    base_url: str,
    script: str,
    script_args: list[str],
    pid: int,
    seconds: int,
    header: str | None = None,
    parts: dict[str, int] | None = None,
) -> Result:
    """One wrk run; `pid` is the service whose CPU per request is reported; with `parts` (name:
    pid), every part's CPU per request too, and wrk's."""
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(HERE / script),
               *(["-H", header] if header else []), base_url, "--", *script_args]  # fmt: skip
    parts = parts or {}
    before, before_wrk = cpu_seconds(pid), children_cpu_seconds()
    before_parts = {n: cpu_seconds(p) for n, p in parts.items()}
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total, rps, p50, p99, errors = parse_wrk(output)
    if errors:
        wrong = " / ".join(line.strip() for line in output.splitlines() if "errors" in line or "Non-2xx" in line)
        print(f"  {name} ({seconds} s): {wrong}")
    per_request = 1000 / max(total, 1)
    by_part = {n: (cpu_seconds(p) - before_parts[n]) * per_request for n, p in parts.items()}
    by_part["wrk"] = (children_cpu_seconds() - before_wrk) * per_request
    service = (cpu_seconds(pid) - before) * per_request
    return Result(name, total, rps, p50, p99, errors, service, by_part if parts else None)


def cpu_budget(result: Result) -> str:
    """Where a run's CPU went, per request, and the rate that CPU allows on this machine: all the
    cores' worth, and the embedded AWS's ceiling (it answers one request at a time)."""
    by_part = result.cpu_ms_by_part
    total = sum(by_part.values())
    cores = psutil.cpu_count()
    busy = sorted(((name, ms) for name, ms in by_part.items() if ms >= 0.005), key=lambda item: -item[1])
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in busy)
    return (f"  CPU ms per request: {parts}; all {total:.2f} ms: at most {cores * 1000 / total:.0f} req/s"
            f" on {cores} cores, at most {1000 / by_part['aws']:.0f} req/s through the embedded AWS (one at a"
            " time)")  # fmt: skip


def add_bench_mysfits(stack: Stack, count: int) -> list[str]:
    """Extra mysfits to adopt and like (added after the catalog runs, which use the real catalog)."""
    import boto3

    dynamodb = boto3.resource("dynamodb", endpoint_url=stack.url("aws"), region_name=REGION, **CREDENTIALS)
    table = dynamodb.Table(stack.infra.outputs["data"]["MysfitsTableName"])
    ids = [f"bench-{n:05d}" for n in range(count)]
    with table.batch_writer() as batch:
        for mysfit_id in ids:
            batch.put_item(Item={
                "MysfitId": mysfit_id, "Name": mysfit_id, "Species": "Bench", "Description": "A benchmark mysfit.",
                "Age": 1, "GoodEvil": "Neutral", "LawChaos": "Neutral", "ThumbImageUri": "images/x.svg",
                "ProfileImageUri": "images/x.svg", "Likes": 0, "Adopted": False,
            })  # fmt: skip
    return ids


def write_requests(path: Path, method: str, action: str, visitors: list[dict], mysfit_ids: list[str]) -> Path:
    """One line per request: visitor n (rotating) acts on the n-th mysfit of `mysfit_ids`."""
    lines = [
        f"{method} /mysfits/{mysfit_id}/{action} {visitors[n % len(visitors)]['id']}"
        for n, mysfit_id in enumerate(mysfit_ids)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def register_visitors(stack: Stack, count: int) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor

    cognito = cognito_client(stack.url("aws"))
    client_id = stack.user_pool.client_id

    def one(n):
        return sign_in_visitor(cognito, client_id, f"bench-{n}@example.com", PASSWORD)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


ENRICHER_BATCH = 500
ENRICHER_WARM_ROUNDS = 20
ENRICHER_TARGET = 5000  # records/s, warm


def bench_enricher(api_url: str, mysfit_ids: list[str], function_name: str) -> None:
    """The enricher in this process, asking the stack's catalog API: cold, then warm."""
    os.environ["CATALOG_API_URL"] = api_url
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # one log line per batch would drown the figures
    from enricher import handler as enricher

    # A batch of clicks spread over the mysfits, and the context the Lambda stand-in gives the
    # enricher in the stack, with a minute to run.
    clicks = ({"mysfitId": mysfit_ids[n % len(mysfit_ids)], "userId": f"anon-{n:032x}"} for n in range(ENRICHER_BATCH))
    event = firehose_event(clicks, int(time.time() * 1000), "bench")
    context = lambda_context(function_name, "bench", seconds=60)
    enricher.reset()
    started = time.perf_counter()
    answer = enricher.handler(event, context)
    cold_seconds = time.perf_counter() - started
    cold_calls = enricher.catalog_calls()
    assert sum(r["result"] == "Ok" for r in answer["records"]) == ENRICHER_BATCH, "the benchmark batch must enrich"
    started = time.perf_counter()
    for _ in range(ENRICHER_WARM_ROUNDS):
        enricher.handler(event, context)
    warm_seconds = (time.perf_counter() - started) / ENRICHER_WARM_ROUNDS
    warm_calls = (enricher.catalog_calls() - cold_calls) / ENRICHER_WARM_ROUNDS
    enricher.reset()
    warm_rps = ENRICHER_BATCH / warm_seconds
    met = warm_rps >= ENRICHER_TARGET and warm_calls == 0 and cold_calls <= len(mysfit_ids)
    print(f"\nclick enricher, {ENRICHER_BATCH}-record batch over {len(mysfit_ids)} mysfits:")
    print(f"  cold  {ENRICHER_BATCH / cold_seconds:>9.0f} records/s  {cold_seconds * 1000:>7.1f} ms  "
          f"catalog calls {cold_calls}")  # fmt: skip
    print(f"  warm  {warm_rps:>9.0f} records/s  {warm_seconds * 1000:>7.1f} ms  catalog calls {warm_calls:g}  "
          f"target >= {ENRICHER_TARGET} records/s warm, <= {len(mysfit_ids)} calls cold, 0 warm: "
          f"{'met' if met else 'BELOW TARGET'}")  # fmt: skip


TARGETS = {
    # name: (minimum requests/s, maximum p99 ms or None)
    "catalog list": (1500, 25),
    "catalog filter": (1500, 25),
    "catalog get-one": (300, None),
    "gateway list": (500, None),
    "gateway like": (300, 100),
    "gateway adopt": (300, 100),
}


def verdict(result: Result) -> str:
    target = TARGETS.get(result.name)
    if not target:
        return ""
    min_rps, max_p99 = target
    wanted = f">= {min_rps} req/s" + (f", p99 < {max_p99} ms" if max_p99 else "")
    met = result.rps >= min_rps and (max_p99 is None or result.p99_ms < max_p99) and result.errors == 0
    return f"target {wanted}: {'met' if met else 'BELOW TARGET'}"


TRACING_TARGET_MS = 0.3  # what tracing may add to a request's service CPU
GET_ONE_TARGET_MS = 2.0  # the catalog's CPU for a profile read, traced


TRACING_ROUNDS = 3  # alternating traced/untraced runs; each side's median is compared


def start_catalog(stack: Stack, tracing: bool) -> tuple[Process, str]:
    """A catalog of its own, started as the stack starts its catalog, with tracing on or off."""
    port = free_port()
    part = stack.service_part("catalog", port)
    env = {**stack.service_env(), "TRACING_ENABLED": str(tracing).lower()}
    name = f"catalog-traced-{tracing}".lower()
    process = Process(name, part.command(), stack.run_dir / "logs" / f"{name}.log", env, ROOT, part.ready)
    return process.start_ready(30), stack.address(port)


def bench_tracing_cost(stack: Stack, profiles: list[str], seconds: int, report) -> None:
    """Catalog get-one with every request traced (the gateway's Sampled=1) and with tracing off
    (TRACING_ENABLED=false): two catalogs started alike, measured in alternating rounds, so the
    figure is the service CPU per request tracing adds, not the difference between two processes'
    histories or a noisy second."""
    header = "X-Amzn-Trace-Id: Root=1-5f84c7a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
    (traced, traced_url), (untraced, untraced_url) = start_catalog(stack, True), start_catalog(stack, False)
    try:
        run("tracing off", untraced_url, "rotate.lua", profiles, untraced.pid, warm_up(seconds))
        run("tracing on", traced_url, "rotate.lua", profiles, traced.pid, warm_up(seconds), header)
        offs, ons = [], []
        for _ in range(TRACING_ROUNDS):
            offs.append(run("get-one untraced", untraced_url, "rotate.lua", profiles, untraced.pid, seconds))
            ons.append(run("get-one traced", traced_url, "rotate.lua", profiles, traced.pid, seconds, header))
        off = sorted(offs, key=lambda r: r.cpu_ms_per_request)[len(offs) // 2]
        on = sorted(ons, key=lambda r: r.cpu_ms_per_request)[len(ons) // 2]
        report(off)
        report(on)
        cost = on.cpu_ms_per_request - off.cpu_ms_per_request
        met = "met" if cost <= TRACING_TARGET_MS else "NOT MET"
        print(f"(tracing adds {cost:.3f} ms of service CPU per catalog get-one, every request traced, median of "
              f"{TRACING_ROUNDS} alternating rounds; target <= {TRACING_TARGET_MS} ms: {met})")  # fmt: skip
        met = "met" if on.cpu_ms_per_request <= GET_ONE_TARGET_MS else "NOT MET"
        print(f"(a traced get-one costs the catalog {on.cpu_ms_per_request:.3f} ms of CPU; "
              f"target <= {GET_ONE_TARGET_MS} ms: {met})")  # fmt: skip
    finally:
        traced.stop()
        untraced.stop()


SITE_LOADS = 12
SITE_BYTES_TARGET = 60 * 1024
SITE_GRID_TARGET_MS = 300
# The grid is full when it is ready and every card image in view has been drawn.
_GRID_FULL = """() => {
  const grid = document.querySelector('#mysfit-grid[data-state=ready]');
  if (!grid) return false;
  const inView = [...grid.querySelectorAll('img')].filter((img) => img.getBoundingClientRect().top < innerHeight);
  return inView.length > 0 && inView.every((img) => img.complete && img.naturalWidth > 0);
}"""


def bench_site(stack: Stack) -> None:
    """The first view as a new visitor gets it: each load in a fresh browser context (no cache).
    The bytes are counted on the first load, which also warms the servers and the browser up, and
    the timed loads count nothing: asking the browser for each response's size while the page
    loads takes CPU from the page (about 70 ms of a 270 ms first view on 2 cores)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        print("\nsite first view: skipped (Debian's chromium is not installed)")
        return
    times, sizes = [], {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=["--no-sandbox"])
        for load in range(SITE_LOADS + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            if not load:

                def count(request):
                    wire = request.sizes()
                    kind = request.resource_type
                    sizes[kind] = sizes.get(kind, 0) + wire["responseBodySize"] + wire["responseHeadersSize"]

                page.on("requestfinished", count)
            page.goto(stack.url("site") + "/", wait_until="commit")
            page.wait_for_function(_GRID_FULL, polling="raf", timeout=30_000)
            elapsed = page.evaluate("performance.now()")
            page.wait_for_load_state("networkidle")
            context.close()
            if load:
                times.append(elapsed)
        browser.close()
    times.sort()
    total = sum(sizes.values())
    median, p90 = times[len(times) // 2], times[int(len(times) * 0.9)]
    print(f"\nsite first view, headless Chromium 1280x800, empty cache, {SITE_LOADS} loads:")
    print("  on the wire: " + ", ".join(f"{kind} {size / 1024:.1f} KB" for kind, size in sorted(sizes.items()))
          + f"; total {total / 1024:.1f} KB (target <= {SITE_BYTES_TARGET // 1024} KB: "
          + ("met" if total <= SITE_BYTES_TARGET else "NOT MET") + ")")  # fmt: skip
    met = "met" if median <= SITE_GRID_TARGET_MS else "NOT MET"
    print(f"  grid with the images in view: median {median:.0f} ms, p90 {p90:.0f} ms "
          f"(target median <= {SITE_GRID_TARGET_MS} ms: {met})")  # fmt: skip


def bench_transactions(stack: Stack, mysfit_ids: list[str], count: int) -> None:
    """`count` like/unlike transactions straight to the embedded AWS (as the adoption service
    writes them: the like and the mysfit's counter together), each like kept until its unlike
    is due, so the likes table grows: the rate over the first and the last tenth, and memory."""
    client = embedded_client("dynamodb", stack.url("aws"))
    tables = stack.infra.outputs["data"]
    aws = psutil.Process(next(p.pid for p in stack.parts if p.name == "aws"))
    before = aws.memory_info().rss / 1e6
    half = count // 2
    tenth = max(1, count // 10)
    started = time.perf_counter()
    first_done = last_start = started
    for n in range(count):
        undo = n >= half  # all the likes first (the table grows), then all the unlikes
        visitor = f"bench-visitor-{n % half}"
        mysfit = mysfit_ids[(n % half) % len(mysfit_ids)]
        key = {"MysfitId": {"S": mysfit}, "VisitorId": {"S": visitor}}
        change = (
            {"Delete": {"TableName": tables["LikesTableName"], "Key": key}}
            if undo
            else {"Put": {"TableName": tables["LikesTableName"], "Item": {**key, "LikedAt": {"S": "2026-01-01"}}}}
        )
        count_update = {
            "Update": {
                "TableName": tables["MysfitsTableName"],
                "Key": {"MysfitId": {"S": mysfit}},
                "UpdateExpression": "ADD Likes :d",
                "ExpressionAttributeValues": {":d": {"N": "-1" if undo else "1"}},
            }
        }
        if n == count - tenth:
            last_start = time.perf_counter()
        client.transact_write_items(TransactItems=[change, count_update])
        if n == tenth - 1:
            first_done = time.perf_counter()
    first = tenth / (first_done - started)
    last = tenth / (time.perf_counter() - last_start)
    after = aws.memory_info().rss / 1e6
    print(f"\ntransactions: {count} like/unlike straight to the embedded AWS ({half} likes kept, then undone): "
          f"{first:.0f}/s over the first tenth, {last:.0f}/s over the last; embedded AWS {before:.0f} MB -> "
          f"{after:.0f} MB resident (target < 300 MB: {'met' if after < 300 else 'NOT MET'})")  # fmt: skip


SOAK_RATE = 40  # requests a second during the soak: a steady, mixed load, not a flood


def part_memory(stack: Stack) -> dict[str, float]:
    """Resident memory (MB) of each part, with its children (gunicorn's workers)."""
    found = {}
    for part in stack.parts:
        try:
            process = psutil.Process(part.pid)
            found[part.name] = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 1e6
        except psutil.NoSuchProcess:
            found[part.name] = float("nan")
    return found


def soak(stack: Stack, visitors: list[dict], mysfit_ids: list[str], seconds: int) -> None:
    """`seconds` of mixed traffic at SOAK_RATE requests a second (lists, profiles, likes and their
    undoing, clicks), printing every part's memory at the start and the end, and the answers."""
    session = requests.Session()
    statuses: dict[tuple[str, int], int] = {}
    kinds = ("list", "profile", "click", "like/unlike")
    calls = [
        # A page, not the whole table: the adopt runs above added thousands of mysfits.
        lambda n: session.get(f"{stack.url('api')}/mysfits?limit=12", timeout=30),
        lambda n: session.get(f"{stack.url('api')}/mysfits/{mysfit_ids[n % len(mysfit_ids)]}", timeout=30),
        lambda n: session.put(
            f"{stack.url('api')}/clicks", json={"mysfitId": mysfit_ids[n % len(mysfit_ids)]}, timeout=30
        ),
        lambda n: session.request(
            "POST" if (n // len(visitors)) % 2 == 0 else "DELETE",  # like, then take it back
            f"{stack.url('api')}/mysfits/{mysfit_ids[0]}/like",
            headers={"Authorization": visitors[n % len(visitors)]["id"]},
            timeout=30,
        ),
    ]
    before = part_memory(stack)
    started = time.monotonic()
    n = 0
    while (elapsed := time.monotonic() - started) < seconds:
        try:
            status = calls[n % len(calls)](n // len(calls)).status_code
        except requests.RequestException:
            status = 0  # no answer in time
        key = (kinds[n % len(calls)], status)
        statuses[key] = statuses.get(key, 0) + 1
        n += 1
        time.sleep(max(0.0, n / SOAK_RATE - (time.monotonic() - started)))
    after = part_memory(stack)
    answers = ", ".join(
        f"{kind} {status or 'no answer'}: {count}" for (kind, status), count in sorted(statuses.items())
    )
    print(f"\nsoak: {n} requests in {elapsed:.0f}s at {SOAK_RATE}/s; answers {answers}")
    print(f"{'part':<10}{'MB at start':>13}{'MB at end':>11}{'change':>9}")
    for name in before:
        print(f"{name:<10}{before[name]:>13.0f}{after[name]:>11.0f}{after[name] - before[name]:>+9.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run (default 10)")
    parser.add_argument(
        "--transactions",
        type=int,
        default=2000,
        help="like/unlike transactions against the embedded AWS (default 2000)",
    )
    parser.add_argument(
        "--soak", type=int, default=0, metavar="SECONDS", help="then this long of steady mixed traffic (default none)"
    )
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is needed: sudo apt-get install wrk (or run scripts/ensure-system-packages)", file=sys.stderr)
        return 2

    ports = {name: free_port() for name in DEFAULT_PORTS}
    # The stages at their highest limits: the runs measure the stack, not the throttle.
    limits = {"ThrottlingRateLimit": "10000", "ThrottlingBurstLimit": "5000"}
    run_dir = Path(tempfile.mkdtemp(prefix="mysfits-bench-"))
    stack = Stack(root=ROOT, ports=ports, run_dir=run_dir, say=lambda s: None, stage_parameters=limits)
    try:
        stack.start()
        pids = {p.name: p.pid for p in stack.parts}
        mysfits = requests.get(f"{stack.url('catalog')}/mysfits", timeout=10).json()["mysfits"]
        filters = sorted(
            {f"/mysfits?filter=GoodEvil&value={m['goodevil']}" for m in mysfits}
            | {f"/mysfits?filter=LawChaos&value={m['lawchaos']}" for m in mysfits}
            | {f"/mysfits?filter=Species&value={requests.utils.quote(m['species'])}" for m in mysfits}
        )
        profiles = [f"/mysfits/{m['mysfitId']}" for m in mysfits]
        print(f"stack benchmark: wrk, {CONNECTIONS} connections, {args.seconds}s per run, "
              f"{len(mysfits)} mysfits, {psutil.cpu_count()} cores")  # fmt: skip
        print(f"{'run':<17}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'service CPU ms/req':>20}  verdict")

        def report(result: Result) -> None:
            print(f"{result.name:<17}{result.rps:>9.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
                  f"{result.errors:>8}{result.cpu_ms_per_request:>20.3f}  {verdict(result)}", flush=True)  # fmt: skip

        for name, base, paths in [
            ("catalog list", stack.url("catalog"), ["/mysfits"]),
            ("catalog filter", stack.url("catalog"), filters),
            ("catalog get-one", stack.url("catalog"), profiles),
            ("gateway list", stack.url("api"), ["/mysfits"]),
            ("gateway filter", stack.url("api"), filters),
            ("gateway get-one", stack.url("api"), profiles),
        ]:
            run(name, base, "rotate.lua", paths, pids["catalog"], warm_up(args.seconds))
            report(run(name, base, "rotate.lua", paths, pids["catalog"], args.seconds))

        bench_tracing_cost(stack, profiles, args.seconds, report)
        bench_site(stack)
        visitors = register_visitors(stack, VISITORS)
        work = Path(stack.run_dir)
        # Likes: every (visitor, mysfit) pair of the catalog once before any repeats.
        pairs = [m["mysfitId"] for m in mysfits] * VISITORS
        likes = write_requests(work / "likes.txt", "POST", "like", visitors, pairs)
        like = run("gateway like", stack.url("api"), "requests.lua", [str(likes), str(THREADS)], pids["adoption"],
                   args.seconds, parts=pids)  # fmt: skip
        report(like)
        print(cpu_budget(like))
        # Adoptions: a fresh mysfit for every request, so each is a real adoption (200).
        fresh = add_bench_mysfits(stack, ADOPTIONS_PER_SECOND * args.seconds)
        adoptions = write_requests(work / "adoptions.txt", "POST", "adopt", visitors, fresh)
        adopt = run("gateway adopt", stack.url("api"), "requests.lua", [str(adoptions), str(THREADS)],
                    pids["adoption"], args.seconds, parts=pids)  # fmt: skip
        report(adopt)
        print(cpu_budget(adopt))
        ids = [m["mysfitId"] for m in mysfits]
        run("gateway clicks", stack.url("api"), "clicks.lua", ids, pids["api"], warm_up(args.seconds))
        report(run("gateway clicks", stack.url("api"), "clicks.lua", ids, pids["api"], args.seconds))
        print(f"(like: {VISITORS} signed-in visitors x {len(mysfits)} mysfits, each pair once before any repeat;\n"
              " adopt: a fresh mysfit, by a different visitor, every request; clicks: PUT /clicks accepted onto\n"
              " the stream, gateway CPU; errors: any answer but 2xx)")  # fmt: skip
        bench_enricher(stack.url("api"), ids, stack.infra.outputs["clicks"]["FunctionName"])
        bench_transactions(stack, ids, args.transactions)
        if args.soak:
            soak(stack, visitors, ids, args.soak)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
