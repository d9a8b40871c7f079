"""Extensions: unknown ones (a policy), modifier or not, and where they may be used (context).

The cases mirror HL7's validator test suite (fhir-test-cases, R4): pat-dob-ext,
nested-questionnaire-nested-valueset and bundle-urn (unknown extensions, which the Java test
harness rejects), maiden-name-extension (context), ext-xver-modifier-2 (modifier slot), and
the XML-only ext-ctxt-*/exta-ctxt-* cases, whose definitions are restated here in JSON
(HL7 content, CC0). Java's expected outcome for each is quoted beside the test.
"""

from __future__ import annotations

import pytest

from fhirsrv.validation.options import ValidationOptions

from .helpers import describe, errors, find, local_validator

STRICT = ValidationOptions(unknown_extensions="error")
BOOLEAN_EXT = {"valueBoolean": True}


def extension_definition(url: str, contexts: list[tuple[str, str]], *, modifier: bool = False) -> dict:
    """A boolean extension (differential only) usable in ``contexts`` ((type, expression) pairs)."""
    root = {"id": "Extension", "path": "Extension"}
    if modifier:
        root |= {"isModifier": True, "isModifierReason": "it negates the resource"}
    return {
        "resourceType": "StructureDefinition", "url": url, "name": url.rsplit("/", 1)[-1].replace("-", ""),
        "status": "draft", "kind": "complex-type", "abstract": False, "type": "Extension",
        "derivation": "constraint", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "context": [{"type": kind, "expression": expression} for kind, expression in contexts],
        "differential": {"element": [
            root,
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "boolean"}]},
        ]},
    }


def only_error(issues, message_id: str, expression: str, code: str = "structure"):
    found = errors(issues)
    assert [(i.message_id, i.expression, i.code) for i in found] == [(message_id, expression, code)], describe(found)
    return found[0]


# ----------------------------------------------------------------------------- unknown extensions

AGE = "http://validitron.unimelb.edu.au/fhir/StructureDefinition/age"


def test_unknown_extension_is_a_warning_by_default(validator):
    patient = {"resourceType": "Patient", "birthDate": "1975", "_birthDate": {"extension": [{"url": AGE, "valueAge": {"value": 45, "system": "http://unitsofmeasure.org", "code": "a"}}]}}
    issues = validator.issues(patient)
    assert errors(issues) == []
    assert [i.severity for i in find(issues, "extension-unknown", "Patient.birthDate.extension[0]")] == ["warning"]


def test_unknown_extension_is_an_error_when_unknown_extensions_is_error():
    # fhir-test-cases pat-dob-ext, Java: error structure Patient.birthDate.extension[0]
    # "The extension …/age could not be found so is not allowed here"
    patient = {"resourceType": "Patient", "birthDate": "1975", "_birthDate": {"extension": [{"url": AGE, "valueAge": {"value": 45, "system": "http://unitsofmeasure.org", "code": "a"}}]}}
    issue = only_error(local_validator(options=STRICT).issues(patient), "extension-unknown", "Patient.birthDate.extension[0]")
    assert AGE in issue.diagnostics


def test_unknown_extension_in_a_contained_resource():
    # fhir-test-cases nested-questionnaire-nested-valueset: an SDC extension we do not ship,
    # on a Questionnaire contained in the QuestionnaireResponse
    response = {
        "resourceType": "QuestionnaireResponse", "status": "completed", "questionnaire": "#q",
        "contained": [{"resourceType": "Questionnaire", "id": "q", "status": "active", "extension": [
            {"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive", "valueBoolean": True}]}],
    }
    only_error(local_validator(options=STRICT).issues(response), "extension-unknown", "QuestionnaireResponse.contained[0].extension[0]")


@pytest.mark.parametrize("url, options", [
    ("http://example.org/fhir/StructureDefinition/x", STRICT),  # example domains, while examples are allowed
    ("https://acme.com/fhir/x", STRICT),
    ("http://dicom.nema.org/x", STRICT),
    ("http://hl7.org/fhir/tools/StructureDefinition/x", STRICT),
    ("https://fhir.nhs.uk/StructureDefinition/x", ValidationOptions(unknown_extensions="error", allowed_extension_domains=("https://fhir.nhs.uk/StructureDefinition",))),
])
def test_allowed_domains_stay_warnings(url, options):
    issues = local_validator(options=options).issues({"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": url, **BOOLEAN_EXT}]})
    assert errors(issues) == [], describe(issues)
    assert [i.severity for i in find(issues, "extension-unknown", "Basic.extension[0]")] == ["warning"]


def test_example_domain_is_an_error_when_example_urls_are_not_allowed():
    # fhir-test-cases pat-example-extensions (examples: false): Java reports …/something
    # "could not be found so is not allowed here"
    strict = ValidationOptions(unknown_extensions="error", allow_example_urls=False)
    issues = local_validator(options=strict).issues({"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": "http://example.org/ext", **BOOLEAN_EXT}]})
    assert find(errors(issues), "extension-unknown", "Basic.extension[0]"), describe(issues)


def test_cross_version_extension_is_a_warning_even_when_unknown_extensions_are_errors():
    # fhir-test-cases ext-xver-modifier-1 (Java: no error): the definition of an R5 element as
    # an R4 extension comes from R5's definitions, which we do not load
    request = {"resourceType": "DeviceRequest", "status": "completed", "intent": "original-order",
               "codeCodeableConcept": {"text": "pump"}, "subject": {"reference": "Patient/example"},
               "modifierExtension": [{"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-DeviceRequest.doNotPerform", "valueBoolean": True}]}
    issues = local_validator(options=STRICT).issues(request)
    assert errors(issues) == [], describe(issues)
    assert [i.severity for i in find(issues, "extension-cross-version", "DeviceRequest.modifierExtension[0]")] == ["warning"]


def test_options_reject_an_unknown_level():
    with pytest.raises(ValueError, match="unknown_extensions"):
        ValidationOptions(unknown_extensions="ignore")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- modifier or not

def test_regular_extension_in_modifier_extension():
    # fhir-test-cases ext-xver-modifier-2, Java: "The Extension '…/qicore-doNotPerformReason'
    # must not be used as a modifierExtension (it's a regular extension)"
    url = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerformReason"
    definition = extension_definition(url, [("element", "Resource")])
    basic = {"resourceType": "Basic", "code": {"text": "x"}, "modifierExtension": [{"url": url, **BOOLEAN_EXT}]}
    issue = only_error(local_validator(definition).issues(basic), "extension-modifier-mismatch", "Basic.modifierExtension[0]")
    assert "put it in extension, not in modifierExtension" in issue.diagnostics
    basic = {"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": url, **BOOLEAN_EXT}]}
    assert errors(local_validator(definition).issues(basic)) == []


def test_modifier_extension_in_extension():
    url = "http://fhirsrv.test/StructureDefinition/negated"
    definition = extension_definition(url, [("element", "Basic")], modifier=True)
    basic = {"resourceType": "Basic", "code": {"text": "x"}, "extension": [{"url": url, **BOOLEAN_EXT}]}
    issue = only_error(local_validator(definition).issues(basic), "extension-modifier-mismatch", "Basic.extension[0]")
    assert "put it in modifierExtension" in issue.diagnostics
    basic = {"resourceType": "Basic", "code": {"text": "x"}, "modifierExtension": [{"url": url, **BOOLEAN_EXT}]}
    assert errors(local_validator(definition).issues(basic)) == []


# ----------------------------------------------------------------------------- context

MOTHERS_FAMILY = "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family"


def test_extension_outside_its_context(validator):
    # fhir-test-cases maiden-name-extension, Java: error structure Patient.name[0] "… is not
    # allowed to be used at this point (this element is [HumanName, Patient.name];
    # allowed for this version = e:HumanName.family)"
    patient = {"resourceType": "Patient", "name": [{"family": "Family", "extension": [{"url": MOTHERS_FAMILY, "valueString": "Mothers family"}]}]}
    issue = only_error(validator.issues(patient), "extension-context", "Patient.name[0]")
    assert "HumanName.family" in issue.diagnostics
    # where it belongs: on the family name, a primitive (``_family``)
    patient = {"resourceType": "Patient", "name": [{"family": "Family", "_family": {"extension": [{"url": MOTHERS_FAMILY, "valueString": "Mothers family"}]}}]}
    assert errors(validator.issues(patient)) == []


EXT_CTXT = "http://hl7.org/fhir/test/StructureDefinition/ext-ctxt-defn"
INTERPRETER = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"


@pytest.fixture(scope="module")
def ext_ctxt():
    """fhir-test-cases ext-ctxt-defn.xml: element Patient and Patient.name, extension
    patient-interpreterRequired, fhirpath Patient.address.where(use = 'home')."""
    return local_validator(extension_definition(EXT_CTXT, [
        ("element", "Patient"), ("element", "Patient.name"), ("extension", INTERPRETER),
        ("fhirpath", "Patient.address.where(use = 'home')"),
    ]))


ON = {"url": EXT_CTXT, **BOOLEAN_EXT}


@pytest.mark.parametrize("resource", [
    {"resourceType": "Patient", "extension": [ON]},  # ext-ctxt-good-base
    {"resourceType": "Patient", "name": [{"extension": [ON], "text": "x"}]},  # ext-ctxt-good-name
    {"resourceType": "Patient", "address": [{"extension": [ON], "use": "home"}]},  # ext-ctxt-good-address
    {"resourceType": "Patient", "extension": [{"url": INTERPRETER, "valueBoolean": True, "_valueBoolean": {"extension": [ON]}}]},  # ext-ctxt-good-ext
    {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:uuid:5b7ad3a7-30f7-4b4e-a6f4-8cfe1d4c5a10",
     "resource": {"resourceType": "Patient", "name": [{"extension": [ON], "text": "x"}]}}]},  # a path from the entry's resource
], ids=["base", "name", "home-address", "in-extension", "in-bundle"])
def test_extension_in_an_allowed_context(ext_ctxt, resource):
    assert errors(ext_ctxt.issues(resource)) == [], describe(ext_ctxt.issues(resource))


@pytest.mark.parametrize("resource, expression", [
    # ext-ctxt-bad-active, Java: Patient.active "(this element is [Patient.active, boolean] …)"
    ({"resourceType": "Patient", "active": True, "_active": {"extension": [ON]}}, "Patient.active"),
    # ext-ctxt-bad-rtype, Java: Organization
    ({"resourceType": "Organization", "name": "test org", "extension": [ON]}, "Organization"),
    # ext-ctxt-bad-address, Java: Patient.address[0] (a work address: the FHIRPath selects home ones)
    ({"resourceType": "Patient", "address": [{"extension": [ON], "use": "work"}]}, "Patient.address[0]"),
    # ext-ctxt-bad-ext, Java: Patient.extension[0].value.ofType(boolean)
    ({"resourceType": "Patient", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-cadavericDonor",
      "valueBoolean": True, "_valueBoolean": {"extension": [ON]}}]}, "Patient.extension[0].valueBoolean"),
], ids=["active", "organization", "work-address", "other-extension"])
def test_extension_outside_its_contexts(ext_ctxt, resource, expression):
    only_error(ext_ctxt.issues(resource), "extension-context", expression)


TYPED_CTXT = "http://example.org/fhir/StructureDefinition/typed-context"
TYPED_ON = {"url": TYPED_CTXT, **BOOLEAN_EXT}


@pytest.fixture(scope="module")
def typed_ctxt():
    """An extension whose fhirpath contexts need types: a type test on %resource (R5 style
    contexts select through it) and ofType() on a choice element."""
    return local_validator(extension_definition(TYPED_CTXT, [
        ("fhirpath", "%resource.ofType(Patient).name"), ("fhirpath", "Observation.value.ofType(Quantity)"),
    ]))


@pytest.mark.parametrize("resource", [
    # %resource as a plain JSON object has no type: ofType(Patient) selected nothing, and this
    # use was rejected (extension-context on Patient.name[0])
    {"resourceType": "Patient", "name": [{"text": "x", "extension": [TYPED_ON]}]},
    {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1, "extension": [TYPED_ON]}},
], ids=["resource-of-type", "choice-of-type"])
def test_fhirpath_context_is_evaluated_with_types(typed_ctxt, resource):
    assert errors(typed_ctxt.issues(resource)) == [], describe(typed_ctxt.issues(resource))


@pytest.mark.parametrize("resource, expression", [
    ({"resourceType": "Practitioner", "name": [{"text": "x", "extension": [TYPED_ON]}]}, "Practitioner.name[0]"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueString": "a",
      "_valueString": {"extension": [TYPED_ON]}}, "Observation.valueString"),
], ids=["not-a-patient", "other-choice-type"])
def test_fhirpath_context_with_types_still_rejects(typed_ctxt, resource, expression):
    issue = only_error(typed_ctxt.issues(resource), "extension-context", expression)
    assert issue.severity == "error" and "fhirpath %resource.ofType(Patient).name" in issue.diagnostics


EXTA = "http://hl7.org/fhir/test/StructureDefinition/exta-ctxt-defn"


def test_contexts_match_through_the_type_hierarchy():
    # fhir-test-cases exta-ctxt-defn.xml: DomainResource, DomainResource.text, BackboneElement
    validator = local_validator(extension_definition(EXTA, [
        ("element", "DomainResource"), ("element", "DomainResource.text"), ("element", "BackboneElement")]))
    on = {"url": EXTA, **BOOLEAN_EXT}
    good = {"resourceType": "Patient", "extension": [on],
            "text": {"extension": [on], "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
            "contact": [{"extension": [on], "name": {"text": "something"}}]}
    assert errors(validator.issues(good)) == [], describe(validator.issues(good))
    # exta-ctxt-bad-name, Java: Patient.name[0] "(this element is [HumanName, Patient.name] …)"
    only_error(validator.issues({"resourceType": "Patient", "name": [{"extension": [on], "text": "x"}]}), "extension-context", "Patient.name[0]")


def test_a_context_of_any_published_version_allows_the_use(validator):
    # cqf-qualityOfEvidence: context Attachment in R4 (4.0.1), PlanDefinition.action in the
    # extensions package (5.x); the R4 examples (PlanDefinition-opioidcds-04 …) use it on
    # RelatedArtifact.document, an Attachment
    quality = {"url": "http://hl7.org/fhir/StructureDefinition/cqf-qualityOfEvidence", "valueCodeableConcept": {"text": "low"}}
    plan = {"resourceType": "PlanDefinition", "status": "draft",
            "action": [{"extension": [quality], "documentation": [{"type": "documentation", "document": {"extension": [quality]}}]}]}
    assert errors(validator.issues(plan)) == [], describe(validator.issues(plan))
    only_error(validator.issues({"resourceType": "Patient", "extension": [quality]}), "extension-context", "Patient")


def test_the_holder_is_the_innermost_element(ext_ctxt):
    # Timing.repeat is typed Element (not BackboneElement); an extension on it is checked
    # against Timing.repeat, where this definition (Patient, Patient.name …) does not allow it
    request = {"resourceType": "MedicationRequest", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "x"},
               "subject": {"reference": "Patient/1"}, "dosageInstruction": [{"timing": {"repeat": {"extension": [ON], "frequency": 1}}}]}
    only_error(ext_ctxt.issues(request), "extension-context", "MedicationRequest.dosageInstruction[0].timing.repeat")


def test_contexts_the_java_validator_adds(validator):
    # R4 puts ``regex`` on ElementDefinition.type of every primitive's value element, while
    # its definition names Questionnaire.item and ElementDefinition; Java adds
    # ElementDefinition.type (fixContexts), and so do we: the core definition of ``string``
    # (which IPS and the Belgian profiles repeat in their snapshots) has no error.
    string = validator.registry.get("http://hl7.org/fhir/StructureDefinition/string")
    assert string["snapshot"]["element"][3]["type"][0]["extension"][-1]["url"].endswith("/regex")
    assert errors(validator.issues(string)) == [], describe(validator.issues(string))
    regex = {"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "[a-z]+"}
    only_error(validator.issues({"resourceType": "Patient", "extension": [regex]}), "extension-context", "Patient")
