"""Extensions: is this one known, is it in the right slot, may it be used on this element.

The HL7 Java validator asks three questions of every extension (``InstanceValidator.
checkExtension``); fhirsrv asks the same ones, so both give one verdict:

1. **Unknown extension.** Without its definition nothing of an extension can be checked.
   Whether that is a warning or an error is a policy (:attr:`ValidationOptions.
   unknown_extensions`): Java's command line accepts any extension with a warning (issue 3
   asks for the same by default), its ``InstanceValidator`` default (and HL7's test suite)
   rejects it unless its URL lies in an allowed domain. The domains Java always accepts are
   mirrored here (:func:`domain_allowed`). A cross-version extension
   (``http://hl7.org/fhir/5.0/StructureDefinition/extension-…``) is a definition Java derives
   from another FHIR version's definitions, which we do not load: a warning, whatever the policy.
2. **Modifier or not** (FHIR extensibility.html#modifierExtension): an extension whose
   definition says ``isModifier`` must be in ``modifierExtension``; any other must not be.
3. **Context** (StructureDefinition.context, R4): an ``element`` context names a type or a
   path where the extension may appear, an ``extension`` context the extension it may be
   nested in. The element holding the extension is described the way Java describes it: its
   type, its path from the resource, its definition's path inside its datatype; a context
   also matches through the type hierarchy (``DomainResource.text`` matches ``Patient.text``).
   ``Element``/``Any``/``Base`` match everywhere. A ``fhirpath`` context is evaluated on the
   resource, typed as invariants are (:func:`.invariants.evaluate_typed`: ``%resource.
   ofType(Patient)`` sees a Patient), and admits the elements it selects (compared by value:
   FHIRPath results are copies); one that tests rather than selects (it gives booleans: ``artifact-isOwned``) or
   cannot be evaluated is not held against the instance. ``contextInvariant`` is not
   evaluated: the expressions in the shipped packages mix
   R5 types and ``%extension`` variables that an R4 evaluation would get wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fhirsrv.conformance.element_paths import choice_type_suffix

from . import invariants
from .model import Elem, StructureModel
from .options import ValidationOptions
from .outcome import Issue

if TYPE_CHECKING:
    from .context import Definitions

#: Extension URLs Java accepts without a definition whatever its settings (InstanceValidator
#: ``allowUnknownExtension``): DICOM's, the FHIR tooling's, and one core extension that R4
#: uses before the version that defines it.
ALWAYS_ALLOWED_PREFIXES = ("http://hl7.org/fhir/tools/StructureDefinition/",)
ALWAYS_ALLOWED_PARTS = ("nema.org",)
ALWAYS_ALLOWED_URLS = frozenset({"http://hl7.org/fhir/StructureDefinition/structuredefinition-expression"})
#: … and, when example URLs are acceptable at all (``allow_example_urls``), the example domains.
EXAMPLE_PARTS = ("example.org", "acme.com")

CROSS_VERSION = re.compile(r"^http://hl7\.org/fhir/(\d+\.\d+)/StructureDefinition/extension-")

#: Contexts that admit every element (R4 ``Element``; ``Any`` in older definitions, ``Base`` in R5 ones).
EVERYWHERE = frozenset({"Element", "Any", "Base"})
#: R5 abstract resource types some R4 extension definitions name; in R4 they mean a resource
#: with a canonical ``url``.
CANONICAL_RESOURCE_TYPES = frozenset({"CanonicalResource", "MetadataResource"})

#: Contexts that published definitions leave out although R4's own content uses the extension
#: there, added as the HL7 Java validator adds them (InstanceValidator ``fixContexts``): R4
#: puts ``regex`` on the ``ElementDefinition.type`` of every primitive's value element (the
#: definition says ElementDefinition), ``structuredefinition-fhir-type`` likewise; the other
#: three are allowed "anywhere" there because their real lists are long.
CONTEXT_ADDITIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "http://hl7.org/fhir/StructureDefinition/regex": (("element", "ElementDefinition.type"),),
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type": (("element", "ElementDefinition.type"),),
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-normative-version": (("element", "Element"),),
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation": (("element", "Element"),),
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-prohibited": (("element", "Element"),),
}

_INDEX = re.compile(r"\[\d+\]")


@dataclass(slots=True)
class ExtensionOwner:
    """The element that holds ``extension``/``modifierExtension`` items, as the walk met it."""

    elem: Elem  # its definition (the base walk: the core definition)
    tcode: str | None  # its type as walked: Patient, HumanName, date, BackboneElement, Extension …
    path: str  # its expression: Patient.name[0], Patient.birthDate, Bundle.entry[2].resource
    data: Any  # its value (a primitive's own value for ``_name``)
    is_resource: bool
    resource: dict[str, Any] | None  # the resource it belongs to
    resource_path: str  # that resource's expression
    extension_url: str | None  # the extension it is, or is the value of (nested extensions)

    @property
    def resource_type(self) -> str:
        rtype = self.resource.get("resourceType") if self.resource is not None else None
        return rtype if isinstance(rtype, str) else ""


def domain_allowed(options: ValidationOptions, url: str) -> bool:
    """May ``url`` be used without a definition even when unknown extensions are errors?"""
    if url in ALWAYS_ALLOWED_URLS or url.startswith(ALWAYS_ALLOWED_PREFIXES) or any(p in url for p in ALWAYS_ALLOWED_PARTS):
        return True
    if options.allow_example_urls and any(p in url for p in EXAMPLE_PARTS):
        return True
    return url.startswith(options.allowed_extension_domains) if options.allowed_extension_domains else False


def unknown_extension(options: ValidationOptions, url: str, path: str) -> Issue:
    """The issue for an extension whose definition is not loaded."""
    version = CROSS_VERSION.match(url)
    if version:
        return Issue("warning", "not-found", "extension-cross-version",
                     f"The extension {url} is a cross-version extension (an element of FHIR {version.group(1)} carried in R4); "
                     "its definition comes from that version's definitions, which this server does not load, so its content was not checked.", path)
    if options.unknown_extensions == "error" and not domain_allowed(options, url):
        return Issue("error", "structure", "extension-unknown",
                     f"The extension {url} is not known to this server, so it is not allowed here: only extensions whose "
                     "definition is loaded (or from an allowed domain) are accepted.", path)
    return Issue("warning", "not-found", "extension-unknown", f"The extension {url} is not known to this server; its content was not checked.", path)


def modifier_mismatch(model: StructureModel, url: str, slot: str, path: str) -> Issue | None:
    """An extension in the wrong one of ``extension`` / ``modifierExtension``, or None."""
    if model.is_modifier and slot != "modifierExtension":
        return Issue("error", "structure", "extension-modifier-mismatch",
                     f"The extension {url} is a modifier extension (it changes the meaning of the element that holds it): "
                     "put it in modifierExtension, not in extension.", path)
    if not model.is_modifier and slot == "modifierExtension":
        return Issue("error", "structure", "extension-modifier-mismatch",
                     f"The extension {url} is not a modifier extension: put it in extension, not in modifierExtension.", path)
    return None


def context_violation(defs: Definitions, contexts: tuple[tuple[str, str], ...], url: str, owner: ExtensionOwner) -> Issue | None:
    """An error when none of the extension's ``contexts`` ((type, expression) pairs,
    :meth:`Definitions.extension_contexts`) admits ``owner``, else None."""
    if not contexts:
        return None  # a definition without contexts restricts nothing (R4 requires one; be lenient)
    paths: list[str] | None = None
    for kind, expression in contexts:
        if kind == "element":
            if expression in EVERYWHERE:
                return None
            if paths is None:
                paths = owner_paths(owner)
            if _element_context_matches(defs, expression, paths, owner):
                return None
        elif kind == "extension":
            if owner.extension_url is not None and owner.extension_url == expression:
                return None
        elif kind != "fhirpath" or _fhirpath_context_admits(expression, owner):
            return None  # an unknown kind of context restricts nothing we can check
    allowed = ", ".join(expression if kind == "element" else f"{kind} {expression}" for kind, expression in contexts)
    described = ", ".join(dict.fromkeys(owner_paths(owner)[:3]))
    return Issue("error", "structure", "extension-context",
                 f"The extension {url} is not allowed on {owner.path} ({described}): it may only be used on {allowed}.", owner.path)


def owner_paths(owner: ExtensionOwner) -> list[str]:
    """The names the element holding an extension goes by, most telling first: its type,
    its path from the resource (``Patient.name``), its definition's path (``HumanName.family``
    inside a datatype, ``Observation.value[x]`` and ``Observation.value`` for a choice, the
    element a ``contentReference`` repeats), its path from the root of what is validated."""
    elem, tcode = owner.elem, owner.tcode
    rtype = owner.resource_type
    paths: list[str] = []
    if owner.is_resource:
        paths.append(rtype)
    elif tcode:
        paths.append(tcode)
    rooted = rtype + _INDEX.sub("", owner.path[len(owner.resource_path):])
    paths.append(rooted)
    paths.append(elem.path)
    if elem.choice and tcode:
        stem = elem.path[:-3]
        paths.append(stem)
        suffix = choice_type_suffix(tcode)
        if rooted.endswith(elem.json_name + suffix):
            rooted_stem = rooted[: -len(suffix)]
            paths.extend((rooted_stem, rooted_stem + "[x]"))
    if elem.content_ref:
        paths.append(elem.content_ref.lstrip("#"))
    paths.append(_INDEX.sub("", owner.path))
    return paths


def _fhirpath_context_admits(expression: str, owner: ExtensionOwner) -> bool:
    """Does the FHIRPath ``expression``, evaluated on the owner's resource, select the owner?
    True (not held against the instance) whenever that cannot be told: see the module text."""
    if owner.resource is None:
        return True
    try:
        # typed as invariants are: ``%resource.ofType(Patient)`` must see a Patient, not a JSON object
        selected = invariants.evaluate_typed(expression, owner.resource, None, owner.resource, owner.resource)
    except invariants.InvariantError:  # an expression we cannot parse or evaluate: no verdict
        return True
    if selected and all(isinstance(item, bool) for item in selected):
        return True  # a test, not a selection of elements
    # FHIRPath hands back copies, not the nodes themselves: compare by value
    return any(item == owner.data for item in selected)


def _element_context_matches(defs: Definitions, expression: str, paths: list[str], owner: ExtensionOwner) -> bool:
    if owner.is_resource:
        if expression == "Resource":
            return True
        if expression in CANONICAL_RESOURCE_TYPES:
            model = defs.base(owner.resource_type)
            return model is not None and "url" in model.root.children
    for path in paths:
        if path == expression:
            return True
        head, dot, rest = path.partition(".")
        for ancestor in defs.type_ancestors(head):
            if ancestor + dot + rest == expression:
                return True
    return False
