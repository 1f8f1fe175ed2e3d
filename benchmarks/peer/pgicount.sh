#!/usr/bin/env bash
# pgicount.sh — PostgreSQL's share: CPU instructions of the database backend per request +
# confirm flow, counted by callgrind, for each adapter. icount.sh counts the Python process only;
# this counts the server side of the same flows (parse, plan, execute, triggers), as
# (Ir of the backend after N2 flows - after N1 flows) / (N2 - N1). Not the kernel (sockets, fsync).
# It restarts the bench cluster (./pg.sh) under valgrind for the count, then as it was.
#   DB is always postgres. Knobs: ADAPTERS [phone_verify flashcall_verify flashcall] N1 [10] N2 [50]
#   STUB_PORT STUB_DIGITS APP_DIR SETTINGS as in run.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
PY="$HERE/.venv/bin/python"
[ -x "$PY" ] || { echo "pgicount.sh: no .venv; run ./setup.sh first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "pgicount.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
ADAPTERS="${ADAPTERS:-phone_verify flashcall_verify flashcall}"
STUB_PORT="${STUB_PORT:-18090}"; STUB_DIGITS="${STUB_DIGITS:-4}"; N1="${N1:-10}"; N2="${N2:-50}"
APP_DIR="${APP_DIR:-$HERE/benchproj}"; SETTINGS="${SETTINGS:-benchproj.settings}"
PGDATA="$HERE/.pgdata"; PGPORT="${BENCH_PG_PORT:-15432}"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
OUT=$(mktemp -d /tmp/pgicount.XXXXXX)
mkdir -p "$HERE/.run"
export BENCH_DB=postgres PEER_BACKEND=http PEER_HTTP_CLIENT=urllib BENCH_APP_DIR="$APP_DIR"
export STUB_URL="http://127.0.0.1:$STUB_PORT/call" DJANGO_SETTINGS_MODULE="$SETTINGS"
export PYTHONDONTWRITEBYTECODE=1

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
WAS_RUNNING=0; ./pg.sh status && WAS_RUNNING=1
STUB_PID=""; VG_PID=""
cleanup() {
  if [ -n "$STUB_PID" ]; then kill -TERM "$STUB_PID" 2>/dev/null || true; fi
  if [ -n "$VG_PID" ]; then as_pg "$PGBIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 120 >/dev/null 2>&1 || true; fi
  rm -rf "$OUT"
  if [ "$WAS_RUNNING" = 1 ]; then ./pg.sh start >/dev/null; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$WAS_RUNNING" = 1 ] && ./pg.sh stop >/dev/null
[ "$(id -u)" = 0 ] && chown postgres "$OUT"
as_pg valgrind --tool=callgrind --callgrind-out-file="$OUT/backend.%p" \
  "$PGBIN/postgres" -D "$PGDATA" -p "$PGPORT" >"$HERE/.run/pgicount-server.log" 2>&1 &
VG_PID=$!
for _ in $(seq 120); do
  as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break
  sleep 1
done
as_pg "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" || { echo "pgicount.sh: server did not start" >&2; exit 1; }
(cd "$APP_DIR" && timeout 600 "$PY" manage.py migrate --noinput -v0 && timeout 600 "$PY" manage.py flush --noinput -v0)
"$PY" harness/stub.py --port "$STUB_PORT" --digits "$STUB_DIGITS" --max-seconds 1800 >"$HERE/.run/pgicount-stub.log" 2>&1 &
STUB_PID=$!
sleep 1

count() {  # adapter flows -> the backend's instructions
  local pid file
  pid=$(ADAPTER="$1" timeout 600 "$PY" harness/pgflows.py --adapter "$1" --flows "$2")  # benchproj reads ADAPTER
  file="$OUT/backend.$pid"
  for _ in $(seq 120); do grep -qs "^totals:" "$file" && break; sleep 1; done
  sed -n 's/^totals: \([0-9]*\).*/\1/p' "$file"
}
declare -A M
for a in $ADAPTERS; do
  x=$(count "$a" "$N1"); y=$(count "$a" "$N2")
  M[$a]=$("$PY" -c "print(f'{($y - $x) / ($N2 - $N1) / 1e6:.2f}')")
  echo "pgicount [$a]: $N1 flows $x, $N2 flows $y -> ${M[$a]} M instructions/flow" >&2
done
echo
echo "| system (PostgreSQL backend) | M instructions / flow | ÷ peer |"
echo "|---|---|---|"
for a in $ADAPTERS; do
  ratio="-"; [ -n "${M[phone_verify]:-}" ] && ratio=$("$PY" -c "print(f'{${M[$a]} / ${M[phone_verify]}:.2f}')")
  printf '| %s | %s | %s |\n' "$a" "${M[$a]}" "$ratio"
done
