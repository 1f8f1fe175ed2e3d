"""``python -m django_flashcall.testing``: the fake telefon-ip server a
developer runs next to their site, as a real process on a free port."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading

import pytest
import requests

from tests.subprocess_coverage import child_env

TOKEN = "dev-token-4c1e"


@pytest.fixture
def server(tmp_path):
    """The command on port 0 (a free one); yields ``(process, lines)``, its
    stdout lines arriving in a queue."""
    process = subprocess.Popen(
        [sys.executable, "-m", "django_flashcall.testing", "--port", "0", "--token", TOKEN,
         "--daily-limit", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(tmp_path),
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    yield process, lines
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    reader.join(timeout=5)


def next_line(lines: queue.Queue[str]) -> str:
    return lines.get(timeout=20)  # the child's start-up (imports) on a loaded machine


def start(lines: queue.Queue[str]) -> str:
    """The printed URL, once the whole banner is out (the server listens)."""
    url = re.fullmatch(r"Fake telefon-ip server at (\S+)", next_line(lines)).group(1)
    banner = [next_line(lines) for _ in range(5)]
    assert banner[2:4] == [
        f'    FLASHCALL_API_URL = "{url}"',
        f'    FLASHCALL_API_TOKEN = "{TOKEN}"',
    ]
    assert banner[4].startswith("Codes of the calls it places are printed below.")
    return url


@pytest.mark.multiprocess
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_it_serves_prints_each_code_and_stops_on_a_signal(server, signum):
    process, lines = server
    url = start(lines)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1/authcalls/", url)

    body = requests.get(f"{url}{TOKEN}/get_code/89244501003/", timeout=5).json()
    assert body["success"] is True
    code = body["data"]["code"]
    assert next_line(lines) == f"call #{body['data']['id']} to +79244501003: code {code}"
    # --daily-limit: the second call to the phone is refused, and nothing printed for it.
    again = requests.get(f"{url}{TOKEN}/get_code/89244501003/", timeout=5).json()
    assert again["error"] == "limit of calls per day exceeded"
    assert requests.get(f"{url}wrong/get_balance/", timeout=5).status_code == 401

    process.send_signal(signum)
    assert process.wait(timeout=10) == 0
    assert process.stderr.read() == "stopped\n"
    assert lines.empty()  # the refused calls printed nothing


def test_its_options_are_documented_in_its_help(capsys):
    from django_flashcall.testing.__main__ import main  # importing it serves nothing

    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    usage = capsys.readouterr().out
    assert usage.startswith("usage: python -m django_flashcall.testing")
    for option in ("--host", "--port", "--token", "--daily-limit"):
        assert option in usage
