"""``fhirsrv validate FILE… [--profile URL|alias] [--format text|json] [--unknown-extensions warning|error]``.

Exit status 0 when no file has an error, 1 otherwise, 2 for a usage problem.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from fhirsrv import fhirjson

from .given_resources import GivenResources
from .options import UNKNOWN_EXTENSION_LEVELS
from .outcome import Issue, operation_outcome
from .profiles import ALIASES, UnknownProfile, resolve_profile
from .validator import Validator, default_validator

_RESOURCE_HEAD = ".resource"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fhirsrv validate", description="Validate FHIR R4 JSON resources against base R4 and profiles.")
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--profile", action="append", default=[], help=f"canonical URL or one of {', '.join(ALIASES)} (repeatable)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--unknown-extensions", choices=UNKNOWN_EXTENSION_LEVELS, default=None,
                        help="an extension without a loaded definition is a warning (default, as on the server) or an error")
    return parser


def _owner(expression: str) -> str:
    """The resource an issue belongs to: the innermost ``….resource`` or ``contained[n]`` prefix."""
    cut = max(expression.rfind(_RESOURCE_HEAD + "."), expression.rfind(".contained["))
    if cut < 0:
        return expression.split(".", 1)[0]
    if expression.startswith(".contained[", cut):
        end = expression.index("]", cut) + 1
        return expression[:end]
    return expression[: cut + len(_RESOURCE_HEAD)]


def _describe(resource: Any, owner: str) -> str:
    node = resource
    for part in owner.replace("]", "").split(".")[1:]:
        name, _, index = part.partition("[")
        node = node.get(name) if isinstance(node, dict) else None
        if index and isinstance(node, list):
            node = node[int(index)] if int(index) < len(node) else None
    if isinstance(node, dict) and "resourceType" in node:
        return f"{node['resourceType']}/{node.get('id', '(no id)')}"
    return owner


def _text(name: str, resource: Any, issues: list[Issue], stream: TextIO) -> None:
    errors = sum(1 for i in issues if i.is_error)
    warnings = sum(1 for i in issues if i.severity == "warning")
    stream.write(f"{name}: {errors} error(s), {warnings} warning(s)\n")
    groups: dict[str, list[Issue]] = {}
    for issue in issues:
        groups.setdefault(_owner(issue.expression), []).append(issue)
    for owner, found in groups.items():
        stream.write(f"  {_describe(resource, owner)}  [{owner}]\n")
        for issue in sorted(found, key=lambda i: (not i.is_error, i.severity)):
            stream.write(f"    {issue.severity.upper():<11} {issue.expression}  ({issue.message_id})\n      {issue.diagnostics}\n")


def run(argv: list[str], *, validator: Validator | None = None, stdout: TextIO | None = None) -> int:
    stream = stdout or sys.stdout
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    validator = validator or default_validator()
    if args.unknown_extensions and args.unknown_extensions != validator.options.unknown_extensions:
        validator = validator.with_options(replace(validator.options, unknown_extensions=args.unknown_extensions))
    try:
        profiles = [resolve_profile(p, validator.registry) for p in args.profile]
    except UnknownProfile as exc:
        stream.write(f"error: {exc}\n")
        return 2
    failed = False
    results: list[dict[str, Any]] = []
    loaded: dict[str, Any] = {}
    for file in args.files:
        try:
            loaded[file] = validator.parse(Path(file).read_bytes())
        except (OSError, fhirjson.JsonError) as exc:
            loaded[file] = exc
    given = GivenResources([r for r in loaded.values() if not isinstance(r, Exception)])  # e.g. a Questionnaire
    for file in args.files:
        resource = loaded[file]
        if isinstance(resource, Exception):
            exc, resource = resource, None
            issues = [Issue("fatal", "structure" if isinstance(exc, fhirjson.JsonError) else "exception", "unreadable", f"Cannot read {file}: {exc}", "$this")]
        else:
            issues = validator.issues(resource, profiles, stored=given)
        failed = failed or any(i.is_error for i in issues)
        if args.format == "json":
            results.append({"file": file, "outcome": operation_outcome(issues)})
        else:
            _text(file, resource, [i for i in issues], stream)
    if args.format == "json":
        payload = results[0]["outcome"] if len(results) == 1 else results
        stream.write(fhirjson.dumps(payload, pretty=True).decode() + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
