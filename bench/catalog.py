"""Catalog benchmark: the listing endpoints against the /healthz floor, on PostGIS.

    .venv/bin/python bench/catalog.py [--listings 100000] [--requests 200] [--concurrency 8]

Creates (once) a PostGIS database per size (``<BENCH_DATABASE_URL>_u<users>_<listings>``), migrates
it, loads ``--listings`` demo listings and ``--users`` people (5,000 by default, as issue 18 measured;
earlier runs seeded 400) with ``seed_demo``, starts gunicorn on 127.0.0.1:8102
(DEBUG off, throttles out of the way; ``BENCH_PORT`` to move it), then for nearby search,
community feed (at a point; and ``community_home``, a resident's with their neighbourhood and
building), discover feed, ``q`` search (English, Arabic, by relevance),
attribute-filtered search, the signed-in personalised Discover feed (first and second pages, for
people with seed_demo's simulated likes) and ``/healthz`` prints p50/p95 latency over ``--requests``
sequential requests (in four rounds of blocks, each round taking every endpoint in turn) and
requests/s with ``--concurrency`` clients (median of three rounds), each also as a ratio to
``/healthz``. It also prints the plans of the nearby query (the GiST index at work), of a
``q`` page and of an attribute filter.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

from production_env import ensure_database, production_like_env

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST, PORT = "127.0.0.1", int(os.environ.get("BENCH_PORT", "8102"))

# (latitude, longitude) of places people search from.
POINTS = [
    (25.0805, 55.1403),  # Dubai Marina
    (25.0693, 55.1450),  # JLT
    (25.1972, 55.2744),  # Downtown
    (25.1850, 55.2650),  # Business Bay
    (25.0600, 55.2090),  # JVC
    (25.1130, 55.2000),  # Al Barsha
    (25.2697, 55.3247),  # Deira
    (25.2200, 55.4200),  # Mirdif
]
# (latitude, longitude, neighbourhood, building) of residents: the community feed as a signed-in
# person with a saved home sees it (same building, then neighbourhood, then the rest); the
# places and buildings are seed_demo's.
RESIDENTS = [
    (25.0805, 55.1403, "Dubai Marina", "Cayan Tower"),
    (25.0693, 55.1450, "Jumeirah Lake Towers", "Armada 2"),
    (25.1972, 55.2744, "Downtown Dubai", "Burj Vista 1"),
    (25.1850, 55.2650, "Business Bay", "Damac Maison"),
    (25.0600, 55.2090, "Jumeirah Village Circle", "Bloom Towers"),
    (25.1130, 55.2000, "Al Barsha", "Hessa Tower"),
    (25.2697, 55.3247, "Deira", "Reef Tower"),
    (25.2200, 55.4200, "Mirdif", "Uptown Mirdif"),
]
QUERIES = ["yeezy", "iphone", "yezy", "sofa", "jordan", "lego", "perfume", "macbook", "rug", "pokemon"]
# Arabic queries: a sound plural meeting its singular, a brand written in Arabic, alef forms.
ARABIC_QUERIES = ["ساعة", "ايفون", "نايك", "بوكيمون", "سجادة", "عطر", "ليغو", "كنبة", "سامسونج", "أحذية"]
# Attribute-filtered searches (the newest-first walk or the GIN), some with a range or a text query.
ATTRIBUTE_SEARCHES = [
    {"category": "sneakers", "attr.size_eu": ["42", "42.5"]},
    {"category": "sneakers", "attr.size_eu": "44", "attr.brand": "Nike"},
    {"category": "electronics", "attr.storage_gb__gte": "256"},
    {"category": "trading_cards", "attr.game": "pokemon", "attr.grade": "10"},
    {"category": "kids_baby", "attr.age_range": ["3-5y", "6-8y"]},
    {"q": "nike", "attr.size_eu": "42"},
    {"category": "books", "attr.language": "ar"},
    {"category": "sports_cards", "attr.sport": "football", "attr.graded_by": "psa"},
]


def endpoints(
    tokens: list[str] | None = None, second_pages: list[tuple[str, str]] | None = None
) -> dict[str, callable]:
    """Each endpoint's request maker; ``tokens`` add the signed-in personalised Discover feed
    (a first page ranks the person's candidates; ``second_pages`` read a kept ranking)."""
    rng = random.Random(7)

    def nearby() -> str:
        lat, lng = rng.choice(POINTS)
        return "/api/v1/products/?" + urlencode({"lat": lat, "lng": lng, "radius_km": 5, "ordering": "distance"})

    def community() -> str:
        lat, lng = rng.choice(POINTS)
        return "/api/v1/feeds/community/?" + urlencode({"lat": lat, "lng": lng})

    def community_home() -> str:
        lat, lng, hood, building = rng.choice(RESIDENTS)
        query = {"lat": lat, "lng": lng, "neighborhood": hood, "building_name": building}
        return "/api/v1/feeds/community/?" + urlencode(query)

    def discover() -> str:
        return "/api/v1/feeds/discover/"

    def search() -> str:
        return "/api/v1/products/?" + urlencode({"q": rng.choice(QUERIES)})

    def search_arabic() -> str:
        return "/api/v1/products/?" + urlencode({"q": rng.choice(ARABIC_QUERIES)})

    def search_relevance() -> str:
        return "/api/v1/products/?" + urlencode({"q": rng.choice(QUERIES + ARABIC_QUERIES), "ordering": "relevance"})

    def attributes() -> str:
        return "/api/v1/products/?" + urlencode(rng.choice(ATTRIBUTE_SEARCHES), doseq=True)

    def healthz() -> str:
        return "/healthz"

    def discover_personal() -> tuple[str, str]:
        return "/api/v1/feeds/discover/", rng.choice(tokens or [""])

    def discover_personal_next() -> tuple[str, str]:
        return rng.choice(second_pages or [("", "")])

    return {
        "nearby": nearby,
        "community": community,
        "community_home": community_home,
        "discover": discover,
        "q": search,
        "q_arabic": search_arabic,
        "q_relevance": search_relevance,
        "attr": attributes,
        **({"discover_me": discover_personal} if tokens else {}),
        **({"discover_me_p2": discover_personal_next} if second_pages else {}),
        "healthz": healthz,
    }


def bench_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(production_like_env())
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # One cache namespace per database: the Discover pools and the search walks' bounds are
        # shared through the cache for a minute, and a run right after another size's would read
        # that database's listing ids and created_at bounds.
        CACHE_KEY_PREFIX="catalog_bench_" + urlparse(database_url).path.lstrip("/"),
        THROTTLE_ANON="100000000/min",
        THROTTLE_USER="100000000/min",
        JWT_ACCESS_MINUTES="240",  # the signed-in requests' tokens outlive the run
        LOG_LEVEL="WARNING",
        GUNICORN_BIND=f"{HOST}:{PORT}",
        GUNICORN_ACCESSLOG="/dev/null",
        GUNICORN_WORKERS=os.environ.get("GUNICORN_WORKERS", "4"),
    )
    return env


def prepare_database(base_url: str, listings: int, users: int) -> str:
    import psycopg

    parsed = urlparse(base_url)
    name = f"{parsed.path.lstrip('/')}_u{users}_{listings}"
    url = parsed._replace(path=f"/{name}").geturl()
    ensure_database(url)
    env = bench_env(url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    subprocess.run(
        [PYTHON, "manage.py", "seed_demo", "--products", str(listings), "--users", str(users)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    print(
        f"seed_demo --products {listings} --users {users}: {time.monotonic() - started:.1f}s "
        "(tops up an existing database)"
    )
    with psycopg.connect(url.replace("postgis://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE catalog_product")
        conn.execute("VACUUM ANALYZE accounts_user")
        count = conn.execute("SELECT count(*) FROM catalog_product").fetchone()[0]
    if count != listings:
        print(f"note: the database holds {count} listings (seed_demo only tops up)")
    return url


def explain_nearby(url: str) -> None:
    env = bench_env(url)
    code = (
        "from catalog import selectors;from soukloop.geo import make_point;from django.db import connection;"
        "qs=selectors.products_matching(selectors.product_rows(),point=make_point(latitude=25.0805,"
        "longitude=55.1403),radius_km=5,ordering='distance')[:20];sql,p=qs.query.sql_with_params();"
        "c=connection.cursor();c.execute(sql,p);c.execute('EXPLAIN (ANALYZE, COSTS OFF) '+sql,p);"
        "print(chr(10).join('    '+r[0] for r in c.fetchall()))"
    )
    # Run once first: a connection's first geography query loads PostGIS (~20 ms).
    print("EXPLAIN ANALYZE nearby search (Marina, 5 km, ordering=distance; warm connection):")
    subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True)


def explain_text_search(url: str) -> None:
    """The plans of a ``q=iphone`` page (the ids by the index-only walk, then the rows) and of
    an attribute filter (the newest-first walk, or the GIN containment for a rare value)."""
    code = (
        "from catalog import selectors;from django.db import connection;"
        "from django.test.utils import CaptureQueriesContext;"
        "from catalog.params import parse_search_params, search_args;from django.http import QueryDict\n"
        "for query in ('q=iphone', 'q=ساعة', 'category=sneakers&attr.size_eu=42&attr.size_eu=42.5'):\n"
        "    d=parse_search_params(QueryDict(query))\n"
        "    src=selectors.search_page_source(search_args(d),ordering='newest',include_sold=False)\n"
        "    src[:21]\n"
        "    with CaptureQueriesContext(connection) as ctx: list(src[:21])\n"
        "    c=connection.cursor()\n"
        "    for one in ctx.captured_queries:\n"
        "        c.execute('EXPLAIN (ANALYZE, COSTS OFF) '+one['sql']);print('  --',query);"
        "print(chr(10).join('    '+r[0] for r in c.fetchall() if 'Cond:' not in r[0]))"
    )
    print("EXPLAIN ANALYZE text and attribute search (warm connection):")
    subprocess.run([PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=bench_env(url), check=True)


def get(conn: http.client.HTTPConnection, path: str | tuple[str, str]) -> float:
    """One GET; ``path`` may be ``(path, access token)`` for a signed-in request."""
    headers = {"Accept": "application/json"}
    if isinstance(path, tuple):
        path, token = path
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path} -> {response.status}")
    return elapsed


def signed_in_people(env: dict[str, str], count: int = 60) -> list[str]:
    """Access tokens for ``count`` demo people who liked something (seed_demo simulates likes),
    signed with the server's key: the personalised Discover feed has their affinities to rank."""
    code = (
        "from catalog.models import ProductLike;from accounts.models import User;"
        "from rest_framework_simplejwt.tokens import AccessToken\n"
        f"ids=list(ProductLike.objects.values_list('user_id',flat=True).distinct().order_by('user_id')[:{count}])\n"
        "for u in User.objects.filter(pk__in=ids): print('TOKEN', AccessToken.for_user(u))"
    )
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("TOKEN ")]


def next_page_cursors(tokens: list[str]) -> list[tuple[str, str]]:
    """A second page of each person's personalised feed: ``(path with its cursor, token)``."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    pages = []
    for token in tokens:
        conn.request("GET", "/api/v1/feeds/discover/", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = json.loads(response.read())
        if response.status == 200 and body.get("next"):
            link = urlparse(body["next"])
            pages.append((f"{link.path}?{link.query}", token))
    conn.close()
    return pages


def latencies(makers: dict[str, callable], requests: int, rounds: int = 4) -> dict[str, list[float]]:
    """``requests`` sequential requests per endpoint, in ``rounds`` blocks: each round takes a
    block of every endpoint in turn (after a short warm-up of that endpoint), so slow drifts
    of the machine fall on all endpoints alike; measured in one block each, the ``/healthz``
    floor swung between 1.7 and 3.9 ms from run to run."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    samples: dict[str, list[float]] = {name: [] for name in makers}
    block = max(1, requests // rounds)
    for _ in range(rounds):
        for name, make_path in makers.items():
            for _ in range(5):  # warm up this endpoint's path
                get(conn, make_path())
            samples[name].extend(get(conn, make_path()) for _ in range(block))
    conn.close()
    return samples


def throughput(make_path, requests: int, concurrency: int) -> float:
    paths = [make_path() for _ in range(requests)]
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        while True:
            with lock:
                if not paths:
                    break
                path = paths.pop()
            get(conn, path)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return requests / (time.perf_counter() - started)


def wait_for_server(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get(http.client.HTTPConnection(HOST, PORT, timeout=2), "/healthz")
            return
        except (OSError, RuntimeError, http.client.HTTPException):
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=5_000, help="demo people to seed (issue 18 measured 5,000)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4, help="blocks per endpoint for the latencies (1: one block)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgis://postgres@127.0.0.1:5432/soukloop_catalog_bench"),
    )
    args = parser.parse_args()

    url = prepare_database(args.database_url, args.listings, args.users)
    explain_nearby(url)
    explain_text_search(url)
    env = bench_env(url)
    tokens = signed_in_people(env)
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "soukloop.wsgi:application"],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_server()
        makers = endpoints(tokens, next_page_cursors(tokens))
        samples = latencies(makers, args.requests, args.rounds)
        # Throughput in three rounds of every endpoint; the median round of each.
        rounds: dict[str, list[float]] = {name: [] for name in makers}
        for _ in range(3):
            for name, make_path in makers.items():
                rounds[name].append(throughput(make_path, max(args.requests, 400), args.concurrency))
        results: dict[str, tuple[float, float, float]] = {}
        for name in makers:
            p50 = statistics.median(samples[name]) * 1000
            p95 = statistics.quantiles(samples[name], n=20)[18] * 1000
            results[name] = (p50, p95, statistics.median(rounds[name]))
        floor_p50, _floor_p95, floor_rps = results["healthz"]
        print(
            f"\n{args.listings:,} listings and {args.users:,} people on PostGIS; "
            f"{args.requests} sequential requests each, "
            f"in {args.rounds} round(s) of blocks, then {args.concurrency} concurrent clients (median of 3 rounds); "
            f"gunicorn {env['GUNICORN_WORKERS']} sync workers; discover_me: the personalised first page of "
            f"{len(tokens)} people with likes (ranked per request), discover_me_p2: their second pages"
        )
        print(f"{'endpoint':<15} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'p50/healthz':>12} {'req/s vs healthz':>17}")
        for name, (p50, p95, rps) in results.items():
            print(f"{name:<15} {p50:8.2f} {p95:8.2f} {rps:8.0f} {p50 / floor_p50:11.2f}x {rps / floor_rps:16.0%}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
