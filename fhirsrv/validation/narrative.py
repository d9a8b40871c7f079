"""The narrative rules of FHIR R4 (narrative.html, invariant ``txt-1``) on ``Narrative.div``.

The ``xhtml`` primitive rule checks only that the value is a ``<div>`` in the XHTML
namespace. Here the div is parsed (expat, the C parser of the standard library) and checked:

* well-formed XML whose only named entities are XML's five (``&reg;`` is an HTML entity,
  undefined in XHTML without a DTD — write the character or ``&#174;``);
* txt-1: only "the basic html formatting elements and attributes described in chapters 7-11
  (except section 4 of chapter 9) and 15 of the HTML 4.0 standard, <a> elements (either name
  or href), images and internally contained style attributes" — so no ``script``, forms,
  frames, objects, ``on*`` event attributes (active content);
* internal hyperlinks ``href="#x"`` name an ``id`` (or ``a/@name``) in the narratives of the
  resource, or one of its contained resources — a *warning*: a broken anchor spoils reading,
  not the data, and 30 official R4 examples (the v3 code system pages) have such links. The
  Java validator reports it as an error;
* the ``textLink`` extension's ``htmlid`` names an ``id`` in the div (an error: the
  extension claims a link between data and narrative that does not exist).

Parsing a div costs tens of microseconds; results are cached per div text (narratives repeat
across versions of a resource and across the entries of generated Bundles).
"""

from __future__ import annotations

import re
import xml.parsers.expat
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..jsonshape import items
from .outcome import Issue

if TYPE_CHECKING:
    from .context import Run

#: HTML 4.0 chapters 7-11 (9.4, ins/del, excluded) and 15 without its deprecated elements,
#: plus ``a``, ``img`` and image maps.
ALLOWED_ELEMENTS = frozenset({
    "div", "span", "h1", "h2", "h3", "h4", "h5", "h6", "address", "bdo",  # 7, 8
    "em", "strong", "dfn", "code", "samp", "kbd", "var", "cite", "abbr", "acronym",  # 9
    "blockquote", "q", "sub", "sup", "p", "br", "pre",
    "ul", "ol", "li", "dl", "dt", "dd",  # 10
    "table", "caption", "thead", "tfoot", "tbody", "colgroup", "col", "tr", "th", "td",  # 11
    "tt", "i", "b", "big", "small", "hr",  # 15
    "a", "img", "map", "area",
})

#: HTML 4.0 ``coreattrs`` and ``i18n`` (no ``on*`` events), keyboard access, and the table
#: attributes of chapter 11 (alignment from chapter 15).
COMMON_ATTRIBUTES = frozenset({
    "id", "class", "style", "title", "lang", "xml:lang", "dir", "accesskey", "tabindex",
    "span", "width", "align", "valign", "char", "charoff", "abbr", "axis", "headers", "scope",
    "rowspan", "colspan",
})

ELEMENT_ATTRIBUTES = {
    "a": frozenset({"href", "name", "charset", "type", "hreflang", "rel", "rev", "shape", "coords"}),
    "img": frozenset({"src", "alt", "longdesc", "height", "width", "usemap", "ismap", "border"}),
    "map": frozenset({"name"}),
    "area": frozenset({"shape", "coords", "href", "nohref", "alt"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "table": frozenset({"summary", "border", "frame", "rules", "cellspacing", "cellpadding"}),
    "td": frozenset({"nowrap"}),
    "th": frozenset({"nowrap"}),
    "pre": frozenset({"xml:space"}),
}

XML_ENTITIES = frozenset({"lt", "gt", "amp", "quot", "apos"})
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


@dataclass
class XhtmlFacts:
    """What the checks need from one div: its faults, its anchors and its internal links."""

    problems: list[tuple[str, str]] = field(default_factory=list)  # (message id, sentence)
    ids: set[str] = field(default_factory=set)
    internal_links: list[str] = field(default_factory=list)  # fragments of href="#…"

    @property
    def content_ok(self) -> bool:
        return not self.problems


@lru_cache(maxsize=512)
def parse_div(div: str) -> XhtmlFacts:
    facts = XhtmlFacts()
    for name in dict.fromkeys(_NAMED_ENTITY.findall(div)):
        if name not in XML_ENTITIES:
            facts.problems.append(("xhtml-entity", f"the entity &{name}; is not defined in XHTML (only &lt; &gt; &amp; &quot; &apos;); write the character itself or a numeric reference"))
    if facts.problems:
        # expat would stop at the first undefined entity: blank them out and read on
        div = _NAMED_ENTITY.sub(lambda m: m.group(0) if m.group(1) in XML_ENTITIES else " ", div)

    def start(name: str, attributes: dict[str, str]) -> None:
        if name not in ALLOWED_ELEMENTS:
            facts.problems.append(("xhtml-element", f"the element <{name}> is not allowed in a narrative (txt-1: basic HTML formatting only; no scripts, forms, frames, objects or document structure)"))
        own = ELEMENT_ATTRIBUTES.get(name, frozenset())
        for attribute, value in attributes.items():
            if attribute.startswith("xmlns") or attribute in COMMON_ATTRIBUTES or attribute in own:
                if attribute == "id" or (attribute == "name" and name == "a"):
                    facts.ids.add(value)
                elif attribute == "href" and value.startswith("#") and len(value) > 1:
                    facts.internal_links.append(value[1:])
                continue
            why = "event attributes are active content" if attribute.lower().startswith("on") else "txt-1: basic HTML formatting attributes only"
            facts.problems.append(("xhtml-attribute", f"the attribute {attribute!r} is not allowed on <{name}> in a narrative ({why})"))

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        parser.Parse(div, True)
    except xml.parsers.expat.ExpatError as exc:
        facts.problems.append(("xhtml-not-well-formed", f"the XHTML is not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)} at line {exc.lineno}, column {exc.offset + 1})"))
    return facts


def html_checks(inputs: list[Any]) -> list[bool]:
    """FHIRPath ``htmlChecks()`` (txt-1) for invariants that profiles restate."""
    values = [getattr(item, "data", item) for item in inputs]
    if len(values) != 1 or not isinstance(values[0], str):
        return []
    return [parse_div(values[0]).content_ok]


def _narrative_ids(resource: dict[str, Any]) -> set[str]:
    """Anchors a ``#x`` link in this resource's narrative may point to: ids in its own and its
    contained resources' narratives, and the ids of the contained resources."""
    ids: set[str] = set()
    for holder in [resource, *(c for c in resource.get("contained") or () if isinstance(c, dict))]:
        text = holder.get("text")
        if isinstance(text, dict) and isinstance(text.get("div"), str):
            ids |= parse_div(text["div"]).ids
        if holder is not resource and isinstance(holder.get("id"), str):
            ids.add(holder["id"])
    return ids


def _owner(run: Run) -> dict[str, Any] | None:
    """The resource whose narratives belong together: the container of a contained resource."""
    if not run.resources:
        return None
    resource = run.resources[-1]
    if len(run.resources) > 1:
        container = run.resources[-2]
        if any(c is resource for c in container.get("contained") or ()):
            return container
    return resource


def check_narrative(run: Run, narrative: dict[str, Any], path: str, out: list[Issue]) -> None:
    div = narrative.get("div")
    if not isinstance(div, str) or not div:
        return
    facts = parse_div(div)
    where = f"{path}.div"
    for message_id, sentence in facts.problems:
        code = "security" if message_id in ("xhtml-element", "xhtml-attribute") else "structure" if message_id == "xhtml-not-well-formed" else "value"
        out.append(Issue("error", code, message_id, f"{where}: {sentence}.", where))
    if facts.internal_links:
        owner = _owner(run)
        anchors = facts.ids | (_narrative_ids(owner) if owner is not None else set())
        for fragment in dict.fromkeys(facts.internal_links):
            if fragment not in anchors:
                out.append(Issue("warning", "not-found", "xhtml-link-unresolved", f"{where}: the hyperlink '#{fragment}' points to no id in the narrative of this resource (or of its contained resources); add the anchor or fix the link.", where))
    for i, extension in enumerate(items(narrative.get("extension"))):
        if isinstance(extension, dict) and extension.get("url") == "http://hl7.org/fhir/StructureDefinition/textLink":
            for part in items(extension.get("extension")):
                if isinstance(part, dict) and part.get("url") == "htmlid" and isinstance(part.get("valueString"), str) and part["valueString"] not in facts.ids:
                    out.append(Issue("error", "not-found", "xhtml-textlink-unresolved", f"{path}.extension[{i}]: the textLink htmlid {part['valueString']!r} is not the id of any element in the narrative.", f"{path}.extension[{i}]"))
