#!/usr/bin/env python3
"""Audit the locked dependency sets for known vulnerabilities (`make audit`).

Usage: scripts/audit.py [--strict] LOCKFILE...   (run with the tools venv's Python)

Every pin in the given hash-locked requirement files is checked against PyPI's advisory
data (the OSV/PyPA records PyPI publishes per release):

1. `pip-audit --require-hashes --disable-pip -r LOCKFILE` (per file) asks PyPI for each pinned
   release's advisories (`/pypi/<name>/<version>/json`).
2. Where that answer is missing (some mirrors and proxies serve only the project
   document, `/pypi/<name>/json`, and pip-audit then skips the package), the project
   document is read instead. It lists the advisories of the project's newest release, so
   it answers exactly for a pin that is the newest release. A pin that a newer release has
   overtaken (held back by a bound, or the lock is older than the release) cannot be
   checked that way: it fails the audit if the newest release itself has advisories, and
   is otherwise listed as "not checkable here" (`--strict` fails on those too;
   `make lock` brings the pins back to the newest releases the bounds admit).

Exit status: 0 no known vulnerability in the locked sets, 1 vulnerabilities (or, with
--strict, pins that could not be checked), 2 the audit itself could not run.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
PROJECT_URL = "https://pypi.org/pypi/{name}/json"


def give_up(message: str) -> None:
    """The audit itself could not run: exit 2, not 1 (1 means vulnerabilities)."""
    print(f"audit: {message}", file=sys.stderr)
    sys.exit(2)


def read_pins(paths: list[Path]) -> set[tuple[str, str]]:
    """(canonical name, pinned version) over all lock files; the tools' set may pin another
    version of a package than the application's (separate venvs): each is checked."""
    pins: set[tuple[str, str]] = set()
    for path in paths:
        for line in path.read_text().splitlines():
            m = PIN.match(line)
            if m:
                pins.add((canonicalize_name(m.group(1)), m.group(2)))
    return pins


def run_pip_audit(paths: list[Path]) -> tuple[dict[tuple[str, str], list[dict]], set[tuple[str, str]]]:
    """pip-audit over each lock file (one run per file: it refuses two pins of one package):
    (vulnerabilities by pin, pins it could audit)."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    vulns: dict[tuple[str, str], list[dict]] = {}
    audited: set[tuple[str, str]] = set()
    for path in paths:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report.json"
            done = subprocess.run([str(pip_audit), "--require-hashes", "--disable-pip", "--progress-spinner", "off",
                                   "--format", "json", "--output", str(out), "-r", str(path)],
                                  capture_output=True, text=True)
            if not out.exists():
                sys.stderr.write(done.stdout + done.stderr)
                give_up(f"pip-audit did not run on {path} (exit {done.returncode})")
            report = json.loads(out.read_text())
        for dep in report.get("dependencies", []):
            if "skip_reason" in dep or "version" not in dep:
                continue
            pin = (canonicalize_name(dep["name"]), dep["version"])
            audited.add(pin)
            if dep.get("vulns"):
                vulns[pin] = [{"id": v["id"], "aliases": v.get("aliases", []), "fixed_in": v.get("fix_versions", [])}
                              for v in dep["vulns"]]
    return vulns, audited


def project_document(session: requests.Session, name: str) -> dict | None:
    for attempt in range(3):
        try:
            r = session.get(PROJECT_URL.format(name=name), timeout=30)
        except requests.RequestException:
            time.sleep(1 + attempt)
            continue
        if r.status_code == 404:
            return None
        if r.ok:
            return r.json()
        time.sleep(1 + attempt)
    give_up(f"PyPI's project document for {name} could not be read")


def check_from_project(session: requests.Session, name: str, pinned: str) -> tuple[str, str | None, list[dict]]:
    """('vulnerable' | 'clean' | 'newest-vulnerable' | 'held-back' | 'unknown', newest version, advisories)."""
    doc = project_document(session, name)
    if doc is None:
        return "unknown", None, []
    newest = doc["info"]["version"]
    advisories = [{"id": v["id"], "aliases": v.get("aliases") or [], "fixed_in": v.get("fixed_in") or []}
                  for v in doc.get("vulnerabilities") or [] if not v.get("withdrawn")]
    try:
        same = Version(newest) == Version(pinned)
        older = Version(pinned) < Version(newest)
    except InvalidVersion:
        same, older = newest == pinned, False
    if same:
        return ("vulnerable" if advisories else "clean"), newest, advisories
    if older and advisories:
        return "newest-vulnerable", newest, advisories
    return ("held-back" if older else "unknown"), newest, []


def describe(advisories: list[dict]) -> str:
    parts = []
    for a in advisories:
        cve = [x for x in a["aliases"] if x.startswith("CVE-")]
        fixed = f"fixed in {', '.join(a['fixed_in'])}" if a["fixed_in"] else "no fix listed"
        parts.append(f"{a['id']}{' (' + cve[0] + ')' if cve else ''}, {fixed}")
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strict", action="store_true", help="also fail on pins that could not be checked")
    parser.add_argument("lockfiles", nargs="+", type=Path)
    args = parser.parse_args()

    pins = read_pins(args.lockfiles)
    vulnerable, audited = run_pip_audit(args.lockfiles)
    rest = sorted(pins - audited)

    session = requests.Session()
    session.headers["User-Agent"] = "smartbcc-audit (pip-audit fallback)"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(rest, pool.map(lambda pin: check_from_project(session, *pin), rest)))

    from_project = [pin for pin, (state, _, _) in results.items() if state in ("clean", "vulnerable")]
    held_back = {pin: newest for pin, (state, newest, _) in results.items() if state == "held-back"}
    unknown = [pin for pin, (state, _, _) in results.items() if state == "unknown"]
    newest_vulnerable = {pin: (newest, adv) for pin, (state, newest, adv) in results.items()
                         if state == "newest-vulnerable"}
    for pin, (state, _, adv) in results.items():
        if state == "vulnerable":
            vulnerable[pin] = adv

    print(f"audit: {len(pins)} pinned releases in {', '.join(map(str, args.lockfiles))}")
    print(f"  checked by pip-audit (advisories of the pinned release):       {len(audited)}")
    print(f"  checked from PyPI's project document (pin = newest release): {len(from_project)}")
    if held_back:
        print(f"  not checkable here (a newer release exists; this index serves no per-release advisories): "
              f"{len(held_back)}")
        for (name, version), newest in sorted(held_back.items()):
            print(f"    {name} {version} (newest {newest}, which has no advisories)")
    if unknown:
        print(f"  not found on PyPI: {', '.join(f'{n} {v}' for n, v in sorted(unknown))}")

    failed = False
    for (name, version), adv in sorted(vulnerable.items()):
        print(f"VULNERABLE {name} {version}: {describe(adv)}")
        failed = True
    for (name, version), (newest, adv) in sorted(newest_vulnerable.items()):
        print(f"VULNERABLE? {name} {version}: not checkable here, and even the newest release {newest} has: "
              f"{describe(adv)}")
        failed = True
    if args.strict and (held_back or unknown):
        print("audit --strict: some pins could not be checked (run `make lock`, or audit where PyPI's "
              "per-release JSON is reachable)")
        failed = True
    if not failed:
        print("No known vulnerabilities in the locked sets.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
