"""Dependencies are declared, bounded, safe and locked (issue 15, point 8).

- every third-party package that backend/ imports is a declared runtime dependency, and every
  one tests/ or bench/ imports is a runtime or `test` dependency: nothing arrives only
  because another package happens to pull it in;
- requirements/lock.txt (runtime) and requirements/lock-test.txt (runtime + test extra) pin
  every declared dependency, and what the declared extras bring, with `==` and hashes, inside
  the ranges pyproject.toml allows, and agree with each other;
- the floors exclude the releases with the advisories that set them, and the upper bounds
  keep out the next release series of packages whose internals the code relies on;
- make run / make test install from the lock, `make lock` refreshes it, `make audit` checks
  it and .ci/run runs the audit.

Offline: reads files and the installed distributions' metadata, asks no index.
"""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"backend", "tests", "bench"}
LOCK = ROOT / "requirements" / "lock.txt"
LOCK_TEST = ROOT / "requirements" / "lock-test.txt"


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(group: str | None = None) -> dict[str, Requirement]:
    project = _project()
    lines = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


# -- every imported package is declared ------------------------------------------------------

def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (``import a.b`` -> a.b, ``from a.b import c`` -> a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _third_party(roots: list[str]) -> dict[str, set[str]]:
    """module -> files importing it, for the modules that are neither stdlib nor this project's."""
    found: dict[str, set[str]] = {}
    for root in roots:
        for path in sorted((ROOT / root).rglob("*.py")):
            for module in _imports(path):
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY:
                    continue
                if (path.parent / f"{top}.py").exists() or (path.parent / top / "__init__.py").exists():
                    continue  # a sibling script's helper (bench/benchutil.py)
                found.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return found


@lru_cache(maxsize=1)
def _files_index() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Installed files -> distributions: ('pkg/mod.py' -> dists, 'pkg/_ext' (compiled) -> dists)."""
    sources: dict[str, set[str]] = {}
    compiled: dict[str, set[str]] = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for file in dist.files or ():
            path = file.as_posix()
            if path.endswith(".py"):
                sources.setdefault(path, set()).add(name)
            elif path.endswith((".so", ".pyd")):
                compiled.setdefault(path.split(".", 1)[0], set()).add(name)
    return sources, compiled


def _distribution_of(module: str) -> set[str]:
    """The distributions whose installed files provide ``module`` (or its nearest parent package)."""
    sources, compiled = _files_index()
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        base = "/".join(parts[:i])
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if candidate in sources:
                return sources[candidate]
        if base in compiled:
            return compiled[base]
    return {canonicalize_name(d) for d in metadata.packages_distributions().get(parts[0], [])}


def _undeclared(roots: list[str], declared: set[str]) -> list[str]:
    problems = []
    for module, files in sorted(_third_party(roots).items()):
        dists = _distribution_of(module)
        example = sorted(files)[0]
        if not dists:
            problems.append(f"{module} (imported by {example}): no installed distribution provides it")
        elif not dists & declared:
            problems.append(f"{module} (imported by {example}) comes from {'/'.join(sorted(dists))}, "
                            f"which pyproject.toml does not declare")
    return problems


def test_every_package_backend_imports_is_a_declared_runtime_dependency():
    problems = _undeclared(["backend"], set(_requirements()))
    assert not problems, "\n".join(problems)


def test_every_package_the_tests_and_benchmarks_import_is_declared():
    declared = set(_requirements()) | set(_requirements("test"))
    problems = _undeclared(["tests", "bench"], declared)
    assert not problems, "\n".join(problems)


def test_the_module_map_sees_through_import_names():
    # The check above is only as good as the map from import names to distributions.
    assert _distribution_of("jwt") == {"pyjwt"}
    assert _distribution_of("dkim") == {"dkimpy"}
    assert _distribution_of("dns.resolver") == {"dnspython"}
    assert _distribution_of("google.oauth2.credentials") == {"google-auth"}
    assert _distribution_of("googleapiclient.discovery") == {"google-api-python-client"}


# -- the lock ----------------------------------------------------------------------------------

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)(?:\s*;\s*(.*?))?(?=\s+--hash|\s*$)")


def _lock(path: Path) -> dict[str, tuple[str, str | None, bool]]:
    """canonical name -> (version, marker, hashed) for each requirement of a lock file."""
    text = path.read_text().replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = PIN.match(line.strip())
        assert m, f"{path.name}: not an exact pin: {line.strip()[:100]}"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"{path.name}: {name} pinned twice"
        pins[name] = (m.group(3), m.group(4), "--hash=sha256:" in line)
    return pins


def _extras_brought(req: Requirement) -> set[str]:
    """What the extras of a declared requirement add (celery[redis] -> redis), per installed metadata."""
    out = set()
    for extra in req.extras:
        for line in metadata.requires(req.name) or ():
            dep = Requirement(line)
            env = dict(default_environment(), extra=extra)
            if dep.marker is not None and "extra" in str(dep.marker) and dep.marker.evaluate(env):
                out.add(canonicalize_name(dep.name))
    return out


@pytest.mark.parametrize("lock, groups", [(LOCK, [None]), (LOCK_TEST, [None, "test"])], ids=["lock", "lock-test"])
def test_the_lock_pins_every_declared_dependency_inside_its_range(lock, groups):
    assert lock.exists(), f"{lock.relative_to(ROOT)} is missing: run `make lock`"
    pins = _lock(lock)
    unhashed = sorted(name for name, (_, _, hashed) in pins.items() if not hashed)
    assert not unhashed, f"{lock.name}: pins without hashes: {unhashed}"
    for group in groups:
        for name, req in _requirements(group).items():
            assert name in pins, f"{lock.name} does not pin {req}"
            version = pins[name][0]
            assert req.specifier.contains(version, prereleases=True), \
                f"{lock.name} pins {name}=={version}, outside pyproject.toml's {req}"
            for brought in _extras_brought(req):
                assert brought in pins, f"{lock.name} does not pin {brought}, which {req} brings"


def test_the_test_lock_keeps_the_runtime_pins():
    runtime, with_tests = _lock(LOCK), _lock(LOCK_TEST)
    differ = {n: (v[0], with_tests.get(n, ("missing",))[0]) for n, v in runtime.items()
              if with_tests.get(n, (None,))[0] != v[0]}
    assert not differ, f"lock-test.txt moves runtime pins (lock.txt, lock-test.txt): {differ}"


def test_make_installs_from_the_lock_and_can_refresh_and_audit_it():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile and "--require-hashes -r $(LOCK_TEST)" in makefile
    assert "--no-deps -e ." in makefile, "the project goes on top of the lock without resolving anything"
    assert re.search(r"^\$\(VENV\)/\.installed: \$\(LOCK\)", makefile, re.M), "the install stamp follows the lock"
    assert re.search(r"^\$\(VENV\)/\.installed-test: \$\(LOCK_TEST\)", makefile, re.M)
    assert re.search(r"^lock:", makefile, re.M) and re.search(r"^audit:", makefile, re.M)
    assert re.search(r"^make audit$", (ROOT / ".ci" / "run").read_text(), re.M), ".ci/run runs the audit"
    assert "make lock" in LOCK.read_text().splitlines()[1], "the lock says how it is refreshed"


# -- floors and bounds -------------------------------------------------------------------------

# name: (last release an advisory covers, the first without, the advisory)
ADVISORY_FLOORS = {
    "aiosmtpd": ("1.4.5", "1.4.6", "CVE-2024-34083; CVE-2024-27305 fixed in 1.4.5"),
    "gunicorn": ("22.0.0", "23.0.0", "CVE-2024-6827; CVE-2024-1135 fixed in 22.0.0"),
    "dnspython": ("2.6.0", "2.6.1", "CVE-2023-29483"),
    "requests": ("2.32.5", "2.33.0", "CVE-2026-25645; CVE-2024-47081 fixed in 2.32.4"),
    "authlib": ("1.7.1", "1.7.2", "CVE-2026-41425, CVE-2026-44681"),
    "flask": ("3.1.2", "3.1.3", "CVE-2026-27205; CVE-2025-47278 fixed in 3.1.1"),
    "werkzeug": ("3.1.5", "3.1.6", "CVE-2026-27199"),
    "jinja2": ("3.1.5", "3.1.6", "CVE-2025-27516"),
    "cryptography": ("49.0.0", "50.0.0", "CVE-2026-69247"),
    "pyjwt": ("2.12.1", "2.13.0", "CVE-2026-48522..48526"),
    "marshmallow": ("4.1.1", "4.1.2", "CVE-2025-68480"),
    "redis": ("4.5.3", "4.5.4", "CVE-2023-28859"),
    "celery": ("5.2.1", "5.2.2", "CVE-2021-23727"),
    "httplib2": ("0.18.1", "0.19.0", "CVE-2021-21240"),
    "pytest": ("9.0.2", "9.0.3", "CVE-2025-71176"),
    "quotequail": ("0.5.3", "0.5.4", "not an advisory: the release the forward tests pass on"),
}

# name: (first release the bound keeps out, why)
UPPER_BOUNDS = {
    "aiosmtpd": ("1.5.0", "backend/intake/smtp.py uses its private _reader and _call_handler_hook"),
    "marshmallow": ("5.0.0", "backend/api/fastdump.py reads schema and field internals"),
    "flask": ("4.0.0", "next major"),
    "werkzeug": ("4.0.0", "next major"),
    "sqlalchemy": ("2.2.0", "SQLAlchemy's next release series"),
    "alembic": ("2.0.0", "next major"),
    "celery": ("6.0.0", "next major"),
}


def _floor(spec: SpecifierSet) -> Version | None:
    floors = [Version(s.version.rstrip(".*")) for s in spec if s.operator in (">=", ">", "==", "~=", "===")]
    return max(floors, default=None)


@pytest.mark.parametrize("name", sorted(ADVISORY_FLOORS))
def test_the_floor_excludes_the_releases_with_advisories(name):
    vulnerable, fixed, advisory = ADVISORY_FLOORS[name]
    req = {**_requirements(), **_requirements("test")}[name]
    assert not req.specifier.contains(vulnerable, prereleases=True), f"{req} admits {name} {vulnerable} ({advisory})"
    floor = _floor(req.specifier)
    assert floor is not None and floor >= Version(fixed), f"{req}: the floor must be at least {fixed} ({advisory})"


@pytest.mark.parametrize("name", sorted(UPPER_BOUNDS))
def test_the_upper_bound_keeps_out_the_next_series(name):
    first_out, why = UPPER_BOUNDS[name]
    req = _requirements()[name]
    assert not req.specifier.contains(first_out, prereleases=True), f"{req} admits {name} {first_out} ({why})"
