"""Human-readable section narrative (``Composition.section.text``) for generated documents.

The narrative is what a clinician abroad reads, and the base for translation, so it lists
every entry of the section, one table row each, in plain words taken from the data
(``CodeableConcept.text``, else the first coding's display, else its code). Every value is
XML-escaped: data from an EHR is text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from ..jsonshape import items, obj, text

XHTML = "http://www.w3.org/1999/xhtml"
Lookup = Callable[[str], dict[str, Any] | None]  # a reference → the resource it points at


def concept(value: Any) -> str:
    """Words for a CodeableConcept (or a Coding)."""
    if not isinstance(value, dict):
        return ""
    if value.get("text"):
        return str(value["text"])
    codings = items(value.get("coding")) if "coding" in value else [value]
    for coding in codings:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return ""


def _status(value: Any) -> str:
    return concept(value) if isinstance(value, dict) else str(value or "")


def _when(resource: dict[str, Any], *prefixes: str) -> str:
    for prefix in prefixes:
        for suffix in ("DateTime", "String", "Date", "Instant", ""):
            value = resource.get(prefix + suffix)
            if isinstance(value, str):
                return value
        period = resource.get(prefix + "Period")
        if isinstance(period, dict) and (period.get("start") or period.get("end")):
            return f"{period.get('start', '…')} – {period.get('end', '…')}"
    return ""


def _quantity(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    number = value.get("value")
    unit = value.get("unit") or value.get("code") or ""
    return f"{value.get('comparator', '')}{number if number is not None else ''} {unit}".strip()


def _value(resource: dict[str, Any]) -> str:
    for key, value in resource.items():
        if not key.startswith("value") or key == "value":
            continue
        if key in {"valueQuantity", "valueSimpleQuantity"}:
            return _quantity(value)
        if key == "valueCodeableConcept":
            return concept(value)
        if key == "valueRange":
            return f"{_quantity(value.get('low'))} – {_quantity(value.get('high'))}"
        if key == "valuePeriod":
            return f"{value.get('start', '')} – {value.get('end', '')}"
        if not isinstance(value, dict | list):
            return str(value)
    components = [
        f"{concept(c.get('code'))}: {_value(c)}" for c in items(resource.get("component")) if isinstance(c, dict)
    ]
    return "; ".join(components) or concept(resource.get("dataAbsentReason"))


def _medication(resource: dict[str, Any], lookup: Lookup) -> str:
    if "medicationCodeableConcept" in resource:
        return concept(resource["medicationCodeableConcept"])
    reference = obj(resource.get("medicationReference"))
    target = text(reference.get("reference"))
    medication = lookup(target) if target else None
    return concept(obj(medication).get("code")) or (text(reference.get("display")) or "")


def _dosage(resource: dict[str, Any]) -> str:
    dosages = items(resource.get("dosage")) or items(resource.get("dosageInstruction"))
    return "; ".join(str(d.get("text")) for d in dosages if isinstance(d, dict) and d.get("text"))


def row(resource: dict[str, Any], lookup: Lookup) -> tuple[str, str, str, str]:
    """(what, details, status, when) for one entry."""
    rtype = resource.get("resourceType")
    if rtype == "Condition":
        return (concept(resource.get("code")), concept(resource.get("severity")),
                _status(resource.get("clinicalStatus")), _when(resource, "onset"))
    if rtype == "AllergyIntolerance":
        reactions = [concept(m) for r in items(resource.get("reaction")) for m in items(obj(r).get("manifestation"))]
        details = ", ".join(filter(None, [resource.get("criticality") and f"criticality {resource['criticality']}",
                                          *reactions]))
        return (concept(resource.get("code")), details, _status(resource.get("clinicalStatus")),
                _when(resource, "onset", "recordedDate"))
    if rtype in {"MedicationStatement", "MedicationRequest"}:
        return (_medication(resource, lookup), _dosage(resource), _status(resource.get("status")),
                _when(resource, "effective", "authoredOn"))
    if rtype == "Immunization":
        return (concept(resource.get("vaccineCode")), concept(resource.get("route")),
                _status(resource.get("status")), _when(resource, "occurrence"))
    if rtype == "Observation":
        return (concept(resource.get("code")), _value(resource), _status(resource.get("status")),
                _when(resource, "effective", "issued"))
    if rtype == "Procedure":
        return (concept(resource.get("code")), concept(resource.get("outcome")),
                _status(resource.get("status")), _when(resource, "performed"))
    if rtype == "DeviceUseStatement":
        device = lookup(text(obj(resource.get("device")).get("reference")) or "") or {}
        name = next((d["name"] for d in items(device.get("deviceName")) if isinstance(d, dict) and text(d.get("name"))), "")
        return (name or concept(device.get("type")), "", _status(resource.get("status")), _when(resource, "timing"))
    label = next((concept(resource.get(k)) for k in ("code", "type", "category", "title", "description")
                  if concept(resource.get(k)) or isinstance(resource.get(k), str)), "")
    if not label:
        label = next((str(resource[k]) for k in ("title", "description") if isinstance(resource.get(k), str)), "")
    if not label and isinstance(resource.get("category"), list) and resource["category"]:
        label = concept(resource["category"][0])
    return label or str(rtype), "", _status(resource.get("status")), _when(resource, "date", "period", "dateTime")


_HEADERS = ("Item", "Details", "Status", "Date")


def section_div(title: str, resources: list[dict[str, Any]], lookup: Lookup) -> str:
    """A table with one row per entry."""
    head = "".join(f"<th>{h}</th>" for h in _HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row(r, lookup)) + "</tr>" for r in resources
    )
    return (f'<div xmlns="{XHTML}"><h5>{escape(title)}</h5><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def text_div(*paragraphs: str) -> str:
    return f'<div xmlns="{XHTML}">' + "".join(f"<p>{escape(p)}</p>" for p in paragraphs) + "</div>"


def narrative(div: str) -> dict[str, str]:
    return {"status": "generated", "div": div}


def person_name(patient: dict[str, Any]) -> str:
    for name in patient.get("name") or []:
        if not isinstance(name, dict):
            continue
        if name.get("text"):
            return str(name["text"])
        parts = [*(name.get("given") or []), name.get("family") or ""]
        text = " ".join(str(p) for p in parts if p)
        if text:
            return text
    return "the patient"
