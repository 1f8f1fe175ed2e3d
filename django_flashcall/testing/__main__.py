"""Run the fake telefon-ip server in the foreground, for a development site.

Usage: ``python -m django_flashcall.testing [--host H] [--port N] [--token T]``.
It prints the settings to use and the code of each call it places.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .fake_telefonip import DEFAULT_TOKEN, FakeTelefonIP


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m django_flashcall.testing",
        description="A fake telefon-ip.ru authcalls server on loopback (no real calls).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--daily-limit", type=int, default=3, help="calls per phone")
    args = parser.parse_args(argv)

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: it may arrive ignored
        signal.signal(signum, lambda *_: stopped.set())
    with FakeTelefonIP(
        args.token, host=args.host, port=args.port, daily_limit=args.daily_limit
    ) as server:
        # The one place the fake's token is printed: the user asked for it, to paste.
        print(f"Fake telefon-ip server at {server.url}")
        print("Use these settings:")
        print('    FLASHCALL_PROVIDER = "django_flashcall.providers.TelefonIPProvider"')
        print(f'    FLASHCALL_API_URL = "{server.url}"')
        print(f'    FLASHCALL_API_TOKEN = "{server.token}"')
        print("Codes of the calls it places are printed below. Ctrl-C stops it.", flush=True)
        seen = 0
        while not stopped.wait(0.2):
            calls = list(server.calls)  # reset() is not called here: calls only grows
            for call in calls[seen:]:
                print(f"call #{call.id} to +{call.phone7}: code {call.code}", flush=True)
            seen = len(calls)
    print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
