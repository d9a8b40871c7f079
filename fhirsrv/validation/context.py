"""What the walk needs besides the data: compiled definitions and per-call state.

:class:`Definitions` is shared across calls (compiled models are cached there, per
registry); :class:`Run` is one validation call: the resources and Bundles being walked (for
``%resource``, contained and Bundle references), and the profile verdicts already computed
for a resource (slice matching and reference checks ask the same question many times).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhirsrv.conformance.element_paths import choice_type_suffix
from fhirsrv.conformance.snapshot import constrains_base_type
from fhirsrv.terminology import ValueSetChecker
from fhirsrv.terminology.content import StoredResources

from . import fastpath
from .compiler import CORE_PREFIX, CompileError, compile_structure
from .extension_rules import CONTEXT_ADDITIONS, ExtensionOwner
from .model import StructureModel
from .options import DEFAULT_OPTIONS, ValidationOptions
from .primitives import PrimitiveRule, build_rules
from .references import BundleIndex
from .valuesets import LocalValueSets

_UNSEEN = object()


class Definitions:
    """Compiled StructureDefinitions of one registry, compiled on first use."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        #: the code systems of the registry held in full, with value-set membership over them
        self.code_systems = LocalValueSets(registry)
        self._models: dict[str, StructureModel | None] = {}
        self._by_definition: dict[int, StructureModel] = {}
        self.target_types: dict[tuple[str, ...], frozenset[str]] = {}  # walker.target_types
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._extension_contexts: dict[str, tuple[tuple[str, str], ...]] = {}
        self._keep_alive: list[dict[str, Any]] = []
        primitive_sds: list[dict[str, Any]] = []
        self.resource_types: set[str] = set()
        self.core_constraints: set[str] = set()
        for sd in registry.iter_type("StructureDefinition"):
            url = sd.get("url", "")
            if not url.startswith(CORE_PREFIX) or sd.get("derivation") != "specialization":
                continue
            kind = sd.get("kind")
            if kind == "primitive-type":
                primitive_sds.append(sd)
            elif kind == "resource" and not sd.get("abstract"):
                self.resource_types.add(sd["type"])
            for element in (sd.get("snapshot") or {}).get("element", ()):
                if element.get("path", "").endswith("[x]"):
                    fastpath.CHOICE_NAMES.add(element["path"].rsplit(".", 1)[-1][:-3])
                for constraint in element.get("constraint", ()):
                    self.core_constraints.add(constraint.get("key", ""))
        self.primitives: dict[str, PrimitiveRule] = build_rules(primitive_sds)
        fastpath.CHOICE_SUFFIXES.update(
            choice_type_suffix(sd["type"])
            for sd in registry.iter_type("StructureDefinition")
            if sd.get("kind") in ("primitive-type", "complex-type") and sd.get("derivation") == "specialization"
        )

    def structure(self, url: str) -> StructureModel | None:
        """The compiled definition for a canonical (``url`` or ``url|version``), or None.

        Two spellings of one definition (``…/Bundle-uv-ips`` claimed in ``meta.profile`` and
        ``…/Bundle-uv-ips|2.0.0`` asked for by the caller) get the same model object, so that
        the per-call caches keyed by model walk a resource against it only once.
        """
        found = self._models.get(url, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        sd = self.registry.get(url)
        model: StructureModel | None = None
        if sd is not None and sd.get("resourceType") == "StructureDefinition":
            model = self._by_definition.get(id(sd))
            if model is None:
                original = sd
                if not (sd.get("snapshot") or {}).get("element"):
                    sd = _with_snapshot(sd, self.registry)
                try:
                    model = compile_structure(sd, _derivation(sd, self.registry)) if sd is not None else None
                except CompileError:
                    model = None
                if model is not None:
                    self._by_definition[id(original)] = model
                    self._keep_alive.append(original)  # id() stays unique while it is a key
        self._models[url] = model
        return model

    def identity(self, url: str) -> object:
        """What per-call caches key a profile by: its model (one for every spelling of it),
        or the URL itself when it is unknown."""
        model = self.structure(url)
        return url if model is None else model

    def base(self, type_name: str) -> StructureModel | None:
        return self.structure(CORE_PREFIX + type_name)

    def type_ancestors(self, type_name: str) -> tuple[str, ...]:
        """The core types ``type_name`` specialises, nearest first (Patient → DomainResource,
        Resource; HumanName → Element); empty for a name that is no core type."""
        found = self._ancestors.get(type_name)
        if found is None:
            chain: list[str] = []
            sd = self.registry.get(CORE_PREFIX + type_name) if type_name else None
            while isinstance(sd, dict) and len(chain) < 10:
                base_url = sd.get("baseDefinition")
                if not isinstance(base_url, str) or not base_url.startswith(CORE_PREFIX):
                    break
                sd = self.registry.get(base_url)
                if not isinstance(sd, dict) or not sd.get("type"):
                    break
                chain.append(sd["type"])
            found = self._ancestors[type_name] = tuple(chain)
        return found

    def extension_contexts(self, reference: str, model: StructureModel) -> tuple[tuple[str, str], ...]:
        """Where the extension ``reference`` may be used: the contexts of every loaded version
        of its definition when the reference names none (``model``'s alone when it does).

        Instances are written against the definition their authors had: the R4 examples
        against R4's own (4.0.1) extension definitions, whose contexts the later extensions
        package sometimes moved (``cqf-qualityOfEvidence``: Attachment in 4.0.1,
        PlanDefinition.action in 5.x). A use that one published version of the same
        canonical allows is not an error. Plus the contexts the Java validator adds to a few
        core definitions (:data:`.extension_rules.CONTEXT_ADDITIONS`).
        """
        found = self._extension_contexts.get(reference)
        if found is None:
            contexts = list(model.contexts)
            if "|" not in reference and contexts:
                for version in self.registry.versions(reference):
                    other = self.registry.get(reference, version)
                    for context in (other or {}).get("context") or ():
                        if isinstance(context, dict):
                            pair = (context.get("type") or "", context.get("expression") or "")
                            if pair not in contexts:
                                contexts.append(pair)
            if contexts:  # no context at all restricts nothing; keep it so
                contexts.extend(c for c in CONTEXT_ADDITIONS.get(reference.split("|", 1)[0], ()) if c not in contexts)
            found = self._extension_contexts[reference] = tuple(contexts)
        return found

    def is_core_constraint(self, key: str) -> bool:
        """Core keys (``ele-1``, ``dom-3``, ``bdl-8`` …) are checked by the base walk; a profile
        restating one (often in a later technical-correction wording) adds nothing."""
        return key in self.core_constraints


def _derivation(sd: dict[str, Any], registry: Any) -> str | None:
    """``constraint`` for a profile that says ``specialization`` but keeps its base's type
    (its issues then name the profile, like any constraint's); None: the definition's own."""
    if sd.get("derivation") != "specialization" or sd.get("url", "").startswith(CORE_PREFIX):
        return None
    return "constraint" if constrains_base_type(sd, registry.get(sd.get("baseDefinition") or "")) else None


def _with_snapshot(sd: dict[str, Any], registry: Any) -> dict[str, Any] | None:
    """A differential-only profile gets its snapshot from the project's snapshot generator
    (``fhirsrv.conformance.snapshot``, built separately); without it the profile is unknown."""
    try:
        from fhirsrv.conformance.snapshot import generate_snapshot  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return generate_snapshot(sd, registry)
    except Exception:  # a generator failure must not turn into a 500; the profile is then unknown
        return None


@dataclass
class Run:
    """State of one validation call."""

    defs: Definitions
    checker: ValueSetChecker
    options: ValidationOptions = DEFAULT_OPTIONS
    stored: StoredResources | None = None  # resources users stored (the server's store), by url
    resources: list[dict[str, Any]] = field(default_factory=list)
    resource_paths: list[str] = field(default_factory=list)  # the expression of each of ``resources``
    # The element whose extensions are being walked, and the url of the extension being walked
    # (the context of a nested extension): set by the walk, read by extension_rules.
    extension_owner: ExtensionOwner | None = None
    extension_url: str | None = None
    bundles: list[BundleIndex] = field(default_factory=list)
    full_urls: list[str | None] = field(default_factory=list)
    # keyed by (id of the data, Definitions.identity of the profile)
    profile_results: dict[tuple[int, object], list[Any]] = field(default_factory=dict)
    emitted: set[tuple[int, object]] = field(default_factory=set)
    conformance: dict[tuple[int, object], tuple[Any, Any]] = field(default_factory=dict)
    reported_targets: set[tuple[int, str]] = field(default_factory=set)  # (target, profiles) said once

    @property
    def resource(self) -> dict[str, Any] | None:
        return self.resources[-1] if self.resources else None

    @property
    def root_resource(self) -> dict[str, Any] | None:
        return self.resources[0] if self.resources else None
