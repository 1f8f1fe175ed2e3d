"""The score of the last ``make mutants`` run, per module, from mutmut's
results in mutants/.

A surviving mutant is either listed in tests/equivalent_mutants.txt (with
why no test can tell it from the code) or a gap in the tests. Exits 1 if a
mutant that was run survived and is not listed there; mutants of modules
left out of a ``MODULE=`` run ("not checked") are only counted.

    python scripts/mutation_score.py          # the table and the survivors
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "equivalent_mutants.txt"

# mutmut's exit codes (mutmut.stats.status_by_exit_code), by what they mean here.
KILLED = {1, 3}  # a test failed
TIMEOUT = {36, -24, 24, 152, 255}  # neither a kill nor a survivor: run it again
SURVIVED = {0}
NOT_RUN = {None, 2}


def equivalent() -> dict[str, str]:
    """Mutant name → why it is equivalent."""
    listed = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            listed[name.strip()] = reason.strip()
    return listed


def results() -> dict[str, dict[str, int | None]]:
    """Module → {mutant name: exit code}."""
    found = {}
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        module = ".".join(meta.relative_to(ROOT / "mutants").with_suffix("").with_suffix("").parts)
        found[module] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return found


def main() -> int:
    by_module = results()
    if not by_module:
        print("No results in mutants/: run `make mutants` first.")
        return 2
    listed = equivalent()
    rows, gaps, other = [], [], []
    total: Counter[str] = Counter()
    for module, codes in by_module.items():
        count: Counter[str] = Counter()
        for name, code in codes.items():
            if code in NOT_RUN:
                count["not run"] += 1
            elif code in KILLED:
                count["killed"] += 1
            elif code in TIMEOUT:
                count["timeout"] += 1
                other.append(f"{name} (timed out)")
            elif code in SURVIVED and name in listed:
                count["equivalent"] += 1
            elif code in SURVIVED:
                count["survived"] += 1
                gaps.append(name)
            else:  # no tests, suspicious, segfault: a gap too, of another kind
                count["other"] += 1
                other.append(f"{name} (mutmut exit code {code})")
        count["mutants"] = len(codes)
        total.update(count)
        rows.append((module, count))
    rows.append(("total", total))
    columns = ["mutants", "killed", "equivalent", "survived", "timeout", "other", "not run"]
    print(f"{'module':34}" + "".join(f"{c:>11}" for c in columns))
    for module, count in rows:
        print(f"{module:34}" + "".join(f"{count[c]:>11}" for c in columns))
    run = total["mutants"] - total["not run"]
    if run:
        print(f"\nkilled: {total['killed'] / run:.1%} of the {run} mutants run")
    if gaps or other:
        print("Not killed and not listed as equivalent (`mutmut show NAME` shows one):")
    for name in gaps + other:
        print(f"  survived: {name}")
    codes = {name: code for by_name in by_module.values() for name, code in by_name.items()}
    for name in listed:
        if name not in codes or codes[name] in KILLED:
            print(f"  listed in {EQUIVALENT.name} but killed or gone: {name}")
    return 1 if gaps or other else 0


if __name__ == "__main__":
    sys.exit(main())
