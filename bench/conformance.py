"""HL7's validator test suite (fhir-test-cases, R4 cases) through our validator, offline (issue 3).

The HL7 Java validator is the reference our verdicts are measured against. For every R4 case
that can run without network access we validate the input (and, when the case has one,
against its profile) and compare *valid / invalid* — our error count > 0 against the Java
validator's expected error count > 0. Exact counts are not compared: the two validators
phrase, split and de-duplicate issues differently, so only the verdict is meaningful.

Run: .venv/bin/python -m bench.conformance [--cases DIR] [--module M] [--case NAME]
     (or ``make conformance``). Detailed results: bench/results/conformance.json.

The corpus lives in ``../shared`` beside the checkout: this is a development tool; nothing in
the server or the tests reads it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fhirsrv import fhirjson
from fhirsrv.conformance.loader import load_registry
from fhirsrv.conformance.registry import Registry
from fhirsrv.terminology.generated import generated_codesystem
from fhirsrv.validation import Validator
from fhirsrv.validation.options import DEFAULT_OPTIONS, ValidationOptions, global_profiles

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASES = ROOT.parent / "shared" / "corpus" / "fhir-test-cases"
PROFILES_DIR = ROOT / "profiles"
RESULTS = ROOT / "bench" / "results" / "conformance.json"

#: Modules whose cases exercise the terminology server itself (code validation, expansions).
ONLINE_TX_MODULES = frozenset({"tx", "tx-advanced"})

#: Manifest keys that switch the Java validator into a mode we do not implement; the case
#: then tests that mode, not FHIR resource validation, so its verdict says nothing about ours.
UNSUPPORTED_MODES = {
    "logical": "validates against a logical model (a Java validator mode we do not have)",
    "matchetype": "matchetype comparison (a Java test-harness mode, not resource validation)",
}

#: Modules that validate something other than a FHIR resource as such.
UNSUPPORTED_MODULES = {
    "cdshooks": "CDS Hooks request/response validation (not a FHIR resource)",
    "matchetype": "matchetype comparison (a Java test-harness mode, not resource validation)",
    "cda": "CDA documents (logical model)",
    "logical": "validates against a logical model (a Java validator mode we do not have)",
}


#: The Java validator's messages about a code or a display that only a terminology server
#: can judge, with the code system they name (its English message catalogue, R4 runs).
TERMINOLOGY_MESSAGES = (
    re.compile(r"^Wrong Display Name '.*' for (?P<system>[^#\s]+)#"),
    re.compile(r"^Unknown code '.*' in the CodeSystem '(?P<system>[^']+)'"),
)


def terminology_only(outcome: dict[str, Any], registry: Registry) -> list[str] | None:
    """The code systems behind Java's errors when *every* error is a code or display verdict
    on a code system we cannot check offline (not in the registry, or not complete there:
    LOINC, SNOMED CT, CVX …); None as soon as one error is anything else.

    Such a case measures tx.fhir.org, not our validator: by design (issue 3) a code system
    we do not have gives a warning, never an error. A case with any other Java error stays in.
    """
    systems: list[str] = []
    errors = [i for i in outcome.get("issue") or () if i.get("severity") in ("error", "fatal")]
    if not errors:
        return None
    for issue in errors:
        text = (issue.get("details") or {}).get("text") or ""
        match = next((m for m in (p.match(text) for p in TERMINOLOGY_MESSAGES) if m), None)
        if match is None:
            return None
        system = match.group("system")
        code_system = generated_codesystem(system) or registry.get(system)
        if code_system is not None and code_system.get("resourceType") == "CodeSystem" and code_system.get("content") == "complete":
            return None  # a code system we hold in full: the verdict is ours to give
        if system not in systems:
            systems.append(system)
    return systems


def foreign_outcome(outcome: dict[str, Any], resource: Any) -> str | None:
    """The resource type Java's outcome is about when it is not the input's, else None.

    The Java validator roots every ``expression`` at the validated resource
    (``StructureDefinition.context[0]``, ``Bundle.entry[2]…``). An outcome whose expressions
    all start with another type (issues on ``ValueSet…`` for a StructureDefinition input) was
    paired with this input by a slip in the manifest (fhir-test-cases lists
    ext-derived-circle twice, once with another case's outcome inline), and its verdict says
    nothing about the input."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return None
    roots = {re.split(r"[.\[]", expression, maxsplit=1)[0]
             for issue in outcome.get("issue") or () for expression in issue.get("expression") or () if expression}
    if not roots or resource["resourceType"] in roots:
        return None
    return ", ".join(sorted(roots))


def validation_options(entry: dict[str, Any]) -> ValidationOptions:
    """The manifest settings of a case that have a counterpart in our validator's options
    (``fhirsrv.validation.options``); other settings are reported, not applied.

    Unknown extensions are errors in every case: the Java test harness never sets
    ``anyExtensionsAllowed``, so its InstanceValidator rejects an extension it has no
    definition for unless the URL is in the case's ``allowed-extension-domain(s)``.
    """
    domains = [entry["allowed-extension-domain"]] if isinstance(entry.get("allowed-extension-domain"), str) else []
    domains += [d for d in entry.get("allowed-extension-domains") or () if isinstance(d, str)]
    return ValidationOptions(
        security_checks=bool(entry.get("security-checks")),
        no_html_in_markdown=bool(entry.get("noHtmlInMarkdown")),
        allow_example_urls=entry.get("examples") is not False,
        references_must_resolve=entry.get("validateReference") in ("CHECK_EXISTS_AND_TYPE", "CHECK_EXISTS", "CHECK_VALID"),
        allow_comments=bool(entry.get("allow-comments")),
        validate_contained=entry.get("validateContains") != "IGNORE",
        unknown_extensions="error",
        allowed_extension_domains=tuple(domains),
        # Java's default (displayWarningMode off) makes a wrong display an error; the suite
        # turns it into a warning per case with "wrong-displays": "warning"
        display_warnings=entry.get("wrong-displays") == "warning",
    )


class CaseRegistry(Registry):
    """The shipped registry plus a case's own definitions, without touching the shared one.

    Rebuilding the full registry per case would take seconds; copying its indexes is a few
    milliseconds. Inner per-URL dicts are copied only when a case adds a version to them.
    """

    def __init__(self, base: Registry) -> None:
        super().__init__()
        self._by_url.update(base._by_url)
        self._latest.update(base._latest)
        self.packages = list(base.packages)
        self._copied: set[str] = set()

    def add(self, resource: dict[str, Any]) -> None:
        url = resource.get("url")
        if isinstance(url, str) and url not in self._copied:
            self._by_url[url] = dict(self._by_url.get(url, {}))
            self._copied.add(url)
        # A case's own definition replaces a shipped one of the same URL and version, which
        # is what the Java validator does when it loads a case's supporting files last.
        if isinstance(url, str) and resource.get("version") in (None, ""):
            self._latest.pop(url, None)
        super().add(resource)


@dataclass
class Run:
    """One validation of one case: ``base`` (no profile) or ``profile`` (against the case's profile)."""

    case: str
    module: str
    mode: str
    input: str
    expected_errors: int
    expected_warnings: int
    our_errors: int = 0
    our_warnings: int = 0
    agree: bool = False
    first_error: str = ""
    expected_first_error: str = ""
    errors: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Skip:
    case: str
    module: str
    mode: str
    reason: str


def _shipped_packages(registry: Registry) -> dict[str, set[str]]:
    shipped: dict[str, set[str]] = defaultdict(set)
    for package in registry.packages:
        shipped[package.name].add(package.version)
    return shipped


def _missing_packages(specs: list[str], shipped: dict[str, set[str]]) -> list[str]:
    """The case's packages (``id#version``, ``id`` or a path to a test ``.tgz``) we do not ship."""
    missing = []
    for spec in specs:
        name = spec.rsplit("/", 1)[-1].removesuffix(".tgz")
        package_id, _, version = name.partition("#")
        versions = shipped.get(package_id)
        if not versions or (version and version not in versions and version != "current"):
            missing.append(spec)
    return missing


def _load_json(path: Path) -> Any:
    return fhirjson.loads(path.read_bytes())


def _definitions(base_dir: Path, names: list[str]) -> tuple[list[dict[str, Any]], str | None]:
    """Resources from a case's own supporting/profile files, or the reason they cannot be used."""
    out: list[dict[str, Any]] = []
    for name in names:
        path = base_dir / name
        if not path.name.endswith(".json"):
            return [], f"case-supplied definition {name} is not JSON"
        if not path.is_file():
            return [], f"case-supplied definition {name} is missing from the corpus"
        try:
            resource = _load_json(path)
        except fhirjson.JsonError as exc:
            return [], f"case-supplied definition {name} is unreadable: {exc}"
        if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
            out.extend(e["resource"] for e in resource.get("entry") or () if isinstance(e.get("resource"), dict))
        elif isinstance(resource, dict):
            out.append(resource)
    return out, None


def _claimed_profiles(resource: Any) -> list[str]:
    """The top-level ``meta.profile`` claims: a case built on a profile we lack tests nothing of ours."""
    if not isinstance(resource, dict):
        return []
    meta = resource.get("meta")
    claims = meta.get("profile") if isinstance(meta, dict) else None
    return [c for c in claims or () if isinstance(c, str)]


def _issues_summary(outcome: dict[str, Any]) -> tuple[int, int, list[str]]:
    errors, warnings, messages = 0, 0, []
    for issue in outcome.get("issue") or ():
        severity = issue.get("severity")
        if severity in ("error", "fatal"):
            errors += 1
            where = ", ".join(issue.get("expression") or ())
            text = (issue.get("details") or {}).get("text") or issue.get("diagnostics") or ""
            messages.append(f"{where}: {text}" if where else text)
        elif severity == "warning":
            warnings += 1
    return errors, warnings, messages


class Runner:
    """Runs the cases; keeps one validator for cases that bring no definitions of their own."""

    def __init__(self, cases_dir: Path) -> None:
        self.cases_dir = cases_dir
        self.validator_dir = cases_dir / "validator"
        self.registry = load_registry(PROFILES_DIR)
        self.shipped = _shipped_packages(self.registry)
        self.shared: dict[ValidationOptions, Validator] = {}  # one per set of options: compiling is slow
        manifest = json.loads((self.validator_dir / "manifest.json").read_text())
        self.manifest = {c["name"]: c for c in manifest["test-cases"]}
        # A few names occur twice in the manifest; an outcome given inline is found by name
        # and by its error count (the index's count of that entry).
        self.inline_outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in manifest["test-cases"]:
            for java in (entry.get("java"), (entry.get("profile") or {}).get("java")):
                if isinstance(java, dict) and isinstance(java.get("outcome"), dict):
                    self.inline_outcomes[entry["name"]].append(java["outcome"])
        self.runs: list[Run] = []
        self.skips: list[Skip] = []

    def skip_reason(self, case: dict[str, Any], entry: dict[str, Any]) -> str | None:
        """Why the whole case cannot run offline here, or None."""
        module = case.get("module") or entry.get("module") or "(none)"
        if not case.get("use-test", True) or entry.get("use-test") is False:
            return "disabled upstream (use-test: false)"
        if case.get("missing_in_corpus"):
            return "input missing from the corpus snapshot (file ≥ 4 MiB)"
        if module in ONLINE_TX_MODULES:
            return f"module {module}: needs an online terminology server"
        if entry.get("tx-dependent"):
            return "tx-dependent: needs an online terminology server"
        for key, reason in UNSUPPORTED_MODES.items():
            if entry.get(key):
                return reason
        if module in UNSUPPORTED_MODULES:
            return UNSUPPORTED_MODULES[module]
        missing = _missing_packages(list(case.get("packages") or entry.get("packages") or ()), self.shipped)
        if missing:
            return "needs packages we do not ship: " + ", ".join(missing)
        if not case.get("expected_java_base") or case["expected_java_base"].get("missing"):
            return "no expected Java outcome for R4 in the corpus"
        if not case["input"].endswith(".json"):
            return f"input is not JSON ({case['input'].rsplit('.', 1)[-1]})"
        return None

    def run_case(self, case: dict[str, Any]) -> None:
        entry = self.manifest.get(case["name"], {})
        # The derived index leaves a few modules out; the manifest is authoritative.
        module = case.get("module") or entry.get("module") or "(none)"
        reason = self.skip_reason(case, entry)
        modes = ["base"] + (["profile"] if case.get("expected_java_profile") else [])
        if "profile" in modes and case["expected_java_profile"].get("missing") and not reason:
            # the index names an outcome file the corpus does not have: no verdict to compare
            self.skips.append(Skip(case["name"], module, "profile", "no expected Java outcome for R4 in the corpus"))
            modes.remove("profile")
        if reason:
            self.skips.extend(Skip(case["name"], module, mode, reason) for mode in modes)
            return
        # ``supporting5`` holds definitions written in R5 that the Java harness converts and
        # loads like the others (all XML so far: such a case is skipped, "not JSON").
        supporting = list(entry.get("supporting") or ()) + list(entry.get("profiles") or ()) + list(entry.get("supporting5") or ())
        base_defs, problem = _definitions(self.validator_dir, supporting)
        if problem:
            self.skips.extend(Skip(case["name"], module, mode, problem) for mode in modes)
            return
        options = {
            k: v
            for k, v in entry.items()
            if k not in {"name", "file", "module", "version", "java", "profile", "supporting", "supporting5", "profiles", "packages",
                         "description", "explanation", "documentation", "use-test"}
            and not k.startswith(("firely", "brianpos", "dotnet"))
        }
        # The Java validator applies the global profiles of the ImplementationGuides it loads.
        settings = replace(validation_options(entry), global_profiles=global_profiles(*base_defs))
        self._run(case, module, "base", case["expected_java_base"], base_defs, None, options, settings)
        if "profile" in modes:
            profile = entry.get("profile") or {}
            missing = _missing_packages(list(profile.get("packages") or ()), self.shipped)
            if missing:
                self.skips.append(Skip(case["name"], module, "profile", "needs packages we do not ship: " + ", ".join(missing)))
                return
            names = [profile.get("source") or ""] + list(profile.get("supporting") or ())
            profile_defs, problem = _definitions(self.validator_dir, names)
            if problem:
                self.skips.append(Skip(case["name"], module, "profile", problem))
                return
            url = profile_defs[0].get("url") if profile_defs else None
            if not url:
                self.skips.append(Skip(case["name"], module, "profile", "profile source has no url"))
                return
            self._run(case, module, "profile", case["expected_java_profile"], base_defs + profile_defs, url, options, settings)

    def _validator(self, definitions: list[dict[str, Any]], settings: ValidationOptions) -> Validator:
        if not definitions:
            if settings not in self.shared:
                self.shared[settings] = Validator(self.registry, options=settings)
            return self.shared[settings]
        registry = CaseRegistry(self.registry)
        registry.add_all(definitions)
        return Validator(registry, options=settings)

    def _java_outcome(self, case_name: str, expected: dict[str, Any]) -> dict[str, Any]:
        """The Java validator's expected OperationOutcome for a run ({} when the corpus lacks it)."""
        outcome_file = expected.get("outcome_file")
        if outcome_file == "inline":
            errors = int(expected.get("error") or 0)
            return next((o for o in self.inline_outcomes.get(case_name, ()) if _issues_summary(o)[0] == errors), {})
        if not outcome_file or not (self.cases_dir / outcome_file).is_file():
            return {}
        try:
            outcome = json.loads((self.cases_dir / outcome_file).read_text())
        except ValueError:
            return {}
        return outcome if isinstance(outcome, dict) else {}

    def _run(self, case: dict[str, Any], module: str, mode: str, expected: dict[str, Any],
             definitions: list[dict[str, Any]], profile: str | None, options: dict[str, Any],
             settings: ValidationOptions = DEFAULT_OPTIONS) -> None:
        run = Run(case["name"], module, mode, case["input"], int(expected.get("error") or 0),
                  int(expected.get("warning") or 0), options=options)
        java = self._java_outcome(case["name"], expected)
        run.expected_first_error = next(iter(_issues_summary(java)[2]), "")
        systems = terminology_only(java, self.registry)
        if systems:
            self.skips.append(Skip(case["name"], module, mode, "needs an online terminology server: every Java error is a "
                                   "code or display verdict on " + ", ".join(systems) + " (not shipped)"))
            return
        start = time.perf_counter()
        validator = self._validator(definitions, settings)
        try:
            resource = validator.parse((self.cases_dir / case["input"]).read_bytes())
        except fhirjson.JsonError as exc:
            # Like `fhirsrv validate`: content that does not parse is one fatal issue.
            run.our_errors, run.errors = 1, [f"unreadable JSON: {exc}"]
        else:
            foreign = foreign_outcome(java, resource)
            if foreign:
                self.skips.append(Skip(case["name"], module, mode, f"the manifest pairs this {resource['resourceType']} input "
                                       f"with a Java outcome about a {foreign} (an upstream manifest slip)"))
                return
            unknown = [url for url in _claimed_profiles(resource) if url not in validator.registry]
            if unknown:
                self.skips.append(Skip(case["name"], module, mode, "needs a profile we do not have: " + ", ".join(unknown)))
                return
            try:
                outcome = validator.validate(resource, [profile] if profile else None)
                run.our_errors, run.our_warnings, run.errors = _issues_summary(outcome)
            except Exception as exc:  # a crash is a finding, not a reason to stop the run
                run.our_errors = 1
                run.errors = [f"CRASH {type(exc).__name__}: {exc} | {traceback.format_exc(limit=-2).strip()}"]
        run.seconds = round(time.perf_counter() - start, 4)
        run.first_error = run.errors[0] if run.errors else ""
        run.agree = (run.our_errors > 0) == (run.expected_errors > 0)
        self.runs.append(run)


def _reason_group(reason: str) -> str:
    """Skip reasons grouped for the summary (the JSON keeps each one in full)."""
    if reason.startswith("needs packages"):
        return "needs packages we do not ship"
    if reason.startswith("needs an online terminology server: every Java error"):
        return "needs an online terminology server: Java's only errors are code/display verdicts on code systems we do not ship"
    return reason


def report(runner: Runner, command: str, stream: Any = sys.stdout) -> dict[str, Any]:
    """Print per-module agreement, every disagreement and the skips; return the JSON summary."""
    by_module: dict[str, list[Run]] = defaultdict(list)
    for run in runner.runs:
        by_module[run.module].append(run)
    w = stream.write
    w(f"{'module':<20} {'runs':>5} {'agree':>6} {'%':>7}\n")
    modules = {}
    for module in sorted(by_module):
        runs = by_module[module]
        agree = sum(r.agree for r in runs)
        modules[module] = {"runs": len(runs), "agree": agree, "percent": round(100 * agree / len(runs), 1)}
        w(f"{module:<20} {len(runs):>5} {agree:>6} {100 * agree / len(runs):>6.1f}%\n")
    total = len(runner.runs)
    agree = sum(r.agree for r in runner.runs)
    percent = round(100 * agree / total, 1) if total else 0.0
    cases = len({r.case for r in runner.runs})
    w(f"\nTotal: {agree}/{total} runs agree ({percent}%) over {cases} offline-runnable R4 cases "
      f"(a case with a profile runs twice: base and profile)\n")
    disagreements = [r for r in runner.runs if not r.agree]
    w(f"\nDisagreements ({len(disagreements)}):\n")
    for r in sorted(disagreements, key=lambda r: (r.module, r.case, r.mode)):
        w(f"  [{r.module}] {r.case} ({r.mode}): expected {r.expected_errors} errors, ours {r.our_errors}"
          + (f"\n      ours: {r.first_error[:200]}" if r.first_error else "")
          + (f"\n      java: {r.expected_first_error[:200]}" if r.expected_first_error else "") + "\n")
    reasons = Counter(_reason_group(s.reason) for s in runner.skips)
    w(f"\nSkipped ({len(runner.skips)} runs of {len({s.case for s in runner.skips})} cases):\n")
    for reason, count in reasons.most_common():
        w(f"  {count:>4}  {reason}\n")
        if reason.startswith("needs an online terminology server: Java's only"):
            # A judgement made per run from Java's outcome: show which runs, and why.
            for s in runner.skips:
                if _reason_group(s.reason) == reason:
                    w(f"          {s.case} ({s.mode}): {s.reason.split(': ', 1)[1]}\n")
    w("  (each skipped case with its reason: bench/results/conformance.json)\n")
    w(f"\nCommand: {command}\n")
    return {"total": {"runs": total, "agree": agree, "percent": percent, "cases": cases},
            "modules": modules, "skipped_by_reason": dict(reasons)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES,
                        help="fhir-test-cases folder (default: ../shared/corpus/fhir-test-cases)")
    parser.add_argument("--module", action="append", help="only these modules (repeatable)")
    parser.add_argument("--case", action="append", help="only these case names (repeatable)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="detailed results (JSON)")
    args = parser.parse_args(argv)
    index = json.loads((args.cases / "r4-cases-index.json").read_text())["cases"]
    runner = Runner(args.cases)
    for case in index:
        module = case.get("module") or runner.manifest.get(case["name"], {}).get("module") or "(none)"
        if args.module and module not in args.module:
            continue
        if args.case and case["name"] not in args.case:
            continue
        runner.run_case(case)
    command = "python -m bench.conformance " + " ".join(argv if argv is not None else sys.argv[1:])
    summary = report(runner, command.strip())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "summary": summary,
        "command": command.strip(),
        "cases_dir": str(args.cases),
        "runs": [asdict(r) for r in runner.runs],
        "skipped": [asdict(s) for s in runner.skips],
    }, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
