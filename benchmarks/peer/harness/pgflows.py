#!/usr/bin/env python3
"""The pgicount.sh workload: N request + confirm flows of one adapter, in-process, on one
database connection; prints that connection's PostgreSQL backend pid, then closes it (the
backend exits, and callgrind writes its counts).

  python harness/pgflows.py --adapter flashcall_verify --flows 50
"""
import argparse
import json
import os
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, os.environ.get("BENCH_APP_DIR", str(HERE.parent / "benchproj")))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproj.settings")

import django  # noqa: E402

django.setup()
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from harness import adapters  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--flows", type=int, required=True)
    args = parser.parse_args()
    setup_test_environment()
    adapter = adapters.load(args.adapter)
    offset = random.randrange(0, 10**7)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    for i in range(args.flows):
        client = Client(HTTP_ACCEPT="application/json")
        phone = adapter.phone(offset + i)
        body = adapter.request_body(phone)
        r = client.post(adapter.REQUEST_PATH, json.dumps(body), content_type="application/json")
        data = json.loads(r.content) if r.content else None
        body = adapter.confirm_body(phone, data)
        r = client.post(adapter.CONFIRM_PATH, json.dumps(body), content_type="application/json")
        if r.status_code not in (200, 201):
            sys.exit(f"pgflows: flow {i} failed: {r.status_code} {r.content[:200]!r}")
    connection.close()
    print(pid)


if __name__ == "__main__":
    main()
