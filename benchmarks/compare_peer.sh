#!/usr/bin/env bash
# make bench-peer: django_flashcall against django-phone-verify 3.3 in one Django project, same
# stub, same middleware, PostgreSQL. Prints CPU instructions per request+confirm flow (callgrind,
# stable to ~1 % however busy the machine is) and the ratio to the peer, for
# FLASHCALL_LOGIN="none" (flashcall_verify) and session login (flashcall); then the same for
# the PostgreSQL backend's instructions per flow (pgicount.sh; PGICOUNT=0 skips it).
#   MATRIX=1  also the flows/s batch: ROUNDS [3] interleaved rounds x FLOWS [1000] flows of the
#             three systems (2 gunicorn workers, c=8), then its summary table.
# The harness is benchmarks/peer (a copy of the shared bench-peer; its README says what each
# script does). It runs from a work dir that keeps its venv, PostgreSQL cluster and results
# between runs: BENCH_PEER_DIR [.bench-peer]. Needs valgrind and PostgreSQL server binaries.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK="${BENCH_PEER_DIR:-$ROOT/.bench-peer}"
command -v valgrind >/dev/null || { echo "bench-peer: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
mkdir -p "$WORK"
cp -r "$ROOT/benchmarks/peer/." "$WORK/"   # the current harness; .venv, .pgdata, results stay
chmod -R u+w "$WORK"
FLASHCALL_SRC="$ROOT" "$WORK/setup.sh" >"$WORK/setup.log" 2>&1 \
  || { echo "bench-peer: setup failed, see $WORK/setup.log" >&2; exit 1; }
echo "bench-peer: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$WORK/compare.sh"
# The database's share of the same flows (callgrind on the PostgreSQL backend): PGICOUNT=0 skips it.
if [ "${PGICOUNT:-1}" = 1 ]; then "$WORK/pgicount.sh"; fi
if [ "${MATRIX:-0}" = 1 ]; then
  CONFIGS="postgres:http:urllib postgres:http:urllib:flashcall postgres:http:urllib:flashcall_verify" \
    ROUNDS="${ROUNDS:-3}" FLOWS="${FLOWS:-1000}" "$WORK/matrix.sh" | tail -n 25
fi
