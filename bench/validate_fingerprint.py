"""Every issue the validator reports over a broad corpus, written to a file to compare runs.

A performance change to the validator must not change what it says. This writes the full
issue list (severity, code, message id, sentence, expression) of every input to one
JSON-lines file; run it before and after a change and compare the two files:

    .venv/bin/python -m bench.validate_fingerprint --out /tmp/before.jsonl
    … change the validator …
    .venv/bin/python -m bench.validate_fingerprint --out /tmp/after.jsonl --compare /tmp/before.jsonl

Inputs: every official R4 example (``tests/data/hl7.fhir.r4.examples-4.0.1.tgz``, base R4;
``--r4-every N`` takes one in N), every example of every package in ``profiles/`` (base R4 +
its ``meta.profile``; the IPS ones also against the IPS Bundle profile of their version),
the 500-resource document of ``bench.validate_bench``, and ``--mutants`` broken copies of the
package Bundles (a seeded random edit each: a property removed, a value replaced by another
of a wrong kind, a code changed), so that error paths are compared too. About two CPU
minutes in all.
"""

from __future__ import annotations

import argparse
import copy
import random
import re
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from fhirsrv import fhirjson
from fhirsrv.conformance.aliases import IPS_BUNDLE
from fhirsrv.conformance.packages import load_npm_package
from fhirsrv.validation import Validator, default_validator

from .validate_bench import IPS_PACKAGE, _example, big_bundle

ROOT = Path(__file__).resolve().parent.parent
R4_EXAMPLES = ROOT / "tests" / "data" / "hl7.fhir.r4.examples-4.0.1.tgz"
PROFILES = ROOT / "profiles"
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # fhirpathpy error texts name objects by address


def _r4_examples(every: int) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    with tarfile.open(R4_EXAMPLES) as tar:
        members = sorted((m for m in tar if m.isfile() and m.name.endswith(".json")), key=lambda m: m.name)
        for i, member in enumerate(members):
            if i % every:
                continue
            data = fhirjson.loads(tar.extractfile(member).read())  # type: ignore[union-attr]
            if isinstance(data, dict) and "resourceType" in data:
                yield f"r4/{member.name.rsplit('/', 1)[-1]}", data, []


def _package_examples() -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    for package in sorted(PROFILES.glob("*.tgz")):
        loaded = load_npm_package(package, with_examples=True)
        for example in loaded.examples:
            data = fhirjson.loads(fhirjson.dumps(example))  # decimals as the server sees them
            name = f"{package.name}/{data.get('resourceType')}-{data.get('id')}"
            yield name, data, []
            if package.name.startswith("hl7.fhir.uv.ips-") and data.get("resourceType") == "Bundle":
                yield f"{name}+bundle-profile", data, [f"{IPS_BUNDLE}|{loaded.version}"]


def _documents() -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    bundle = _example(IPS_PACKAGE, "IPS-examples-Bundle-01")
    yield "bench/500-resource-document", big_bundle(bundle), [f"{IPS_BUNDLE}|2.0.0"]


def _nodes(data: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path (keys and indexes) of every property and array item below ``data``."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        yield (*trail, key)
        yield from _nodes(value, (*trail, key))


_REPLACEMENTS: tuple[Any, ...] = ("x", "", 7, 1.5, True, None, {}, [], {"x": 1}, ["x"], "2024-13-45", "urn:uuid:nowhere")


def mutant(data: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], str]:
    """A copy of ``data`` with one random edit, and a description of the edit."""
    broken = copy.deepcopy(data)
    trail = rng.choice([t for t in _nodes(broken) if t[-1] != "resourceType"])
    parent = broken
    for step in trail[:-1]:
        parent = parent[step]
    if rng.random() < 0.3:
        del parent[trail[-1]]
        return broken, f"delete {trail}"
    value = rng.choice(_REPLACEMENTS)
    parent[trail[-1]] = value
    return broken, f"set {trail} = {value!r}"


def _mutants(count: int) -> Iterator[tuple[str, dict[str, Any], list[str]]]:
    rng = random.Random(20261123)
    bundles = [(name, data, profiles) for name, data, profiles in _package_examples() if data.get("resourceType") == "Bundle"]
    for n in range(count):
        name, data, profiles = bundles[n % len(bundles)]
        broken, edit = mutant(data, rng)
        yield f"mutant/{n}/{name}: {edit}", broken, profiles


def fingerprint(validator: Validator, name: str, data: dict[str, Any], profiles: list[str]) -> dict[str, Any]:
    try:
        issues = validator.issues(data, profiles or None)
    except Exception as exc:  # a crash is a finding too (the server would answer 500)
        return {"name": name, "crash": f"{type(exc).__name__}: {exc}"}
    return {"name": name, "issues": [[i.severity, i.code, i.message_id, _ADDRESS.sub(" at 0x…", i.diagnostics), i.expression] for i in issues]}


def compare(before: Path, after: Path) -> int:
    """Print every input whose issues differ; the number of such inputs."""
    old = {r["name"]: r.get("issues", [["crash", r.get("crash")]]) for r in map(orjson.loads, before.read_bytes().splitlines())}
    new = {r["name"]: r.get("issues", [["crash", r.get("crash")]]) for r in map(orjson.loads, after.read_bytes().splitlines())}
    differing = 0
    for name in sorted(old.keys() | new.keys()):
        if old.get(name) != new.get(name):
            differing += 1
            print(f"DIFFERS {name}")
            for issue in old.get(name) or []:
                if issue not in (new.get(name) or []):
                    print(f"   - {str(issue)[:400]}")
            for issue in new.get(name) or []:
                if issue not in (old.get(name) or []):
                    print(f"   + {str(issue)[:400]}")
    print(f"{len(old)} inputs before, {len(new)} after, {differing} differ")
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file to write")
    parser.add_argument("--compare", type=Path, help="an earlier output: print the differences")
    parser.add_argument("--r4-every", type=int, default=1, help="take one R4 example in N (default: all)")
    parser.add_argument("--mutants", type=int, default=600, help="broken copies of the package Bundles (600)")
    args = parser.parse_args(argv)
    validator = default_validator()
    start, count, crashes = time.process_time(), 0, 0
    with args.out.open("wb") as out:
        for source in (_r4_examples(args.r4_every), _package_examples(), _documents(), _mutants(args.mutants)):
            for name, data, profiles in source:
                found = fingerprint(validator, name, data, profiles)
                out.write(orjson.dumps(found) + b"\n")
                count += 1
                if "crash" in found:
                    crashes += 1
                    print(f"CRASH {name}: {found['crash']}")
    print(f"{count} inputs validated in {time.process_time() - start:.1f} s CPU, {crashes} crashed -> {args.out}")
    if args.compare:
        return 1 if compare(args.compare, args.out) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
