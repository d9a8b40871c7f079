"""``fhirsrv validate`` as a function: output grouped by resource, exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path

from fhirsrv.validation.cli import run
from fhirsrv.validation.profiles import UnknownProfile, resolve_profile


def _write(tmp_path: Path, name: str, resource: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(resource))
    return str(path)


def test_clean_file_exits_0(tmp_path, validator):
    file = _write(tmp_path, "ok.json", {"resourceType": "Patient", "gender": "female"})
    out = io.StringIO()
    assert run([file], validator=validator, stdout=out) == 0
    assert "0 error(s)" in out.getvalue()


def test_errors_exit_1_grouped_by_resource(tmp_path, validator):
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "id": "p1", "gender": "x"}}]}
    file = _write(tmp_path, "bad.json", bundle)
    out = io.StringIO()
    assert run([file], validator=validator, stdout=out) == 1
    text = out.getvalue()
    assert "Patient/p1  [Bundle.entry[0].resource]" in text
    assert "Bundle.entry[0].resource.gender" in text and "binding-required" in text


def test_json_format(tmp_path, validator):
    file = _write(tmp_path, "bad.json", {"resourceType": "Patient", "nmae": 1})
    out = io.StringIO()
    assert run([file, "--format", "json"], validator=validator, stdout=out) == 1
    outcome = json.loads(out.getvalue())
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Patient.nmae"]


def test_unreadable_file(tmp_path, validator):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    out = io.StringIO()
    assert run([str(path)], validator=validator, stdout=out) == 1
    assert "malformed JSON" in out.getvalue()


def test_profile_aliases(validator):
    assert resolve_profile("ips", validator.registry).endswith("Bundle-uv-ips|2.0.0")
    assert resolve_profile("ips-1.1", validator.registry).endswith("Bundle-uv-ips|1.1.0")
    try:
        resolve_profile("http://example.org/nope", validator.registry)
    except UnknownProfile as exc:
        assert "not known" in str(exc)
    else:
        raise AssertionError("an unknown profile URL must be refused")


def test_missing_alias_package_is_a_clear_error(tmp_path, validator):
    file = _write(tmp_path, "ok.json", {"resourceType": "Patient"})
    out = io.StringIO()
    if validator.registry.get("http://hl7.eu/fhir/eps/StructureDefinition/bundle-eu-eps") is None:
        assert run([file, "--profile", "eps"], validator=validator, stdout=out) == 2
        assert "not loaded" in out.getvalue()


def test_a_response_is_checked_against_a_questionnaire_given_in_another_file(tmp_path, validator):
    url = "https://fhirsrv.test/Questionnaire/cli"
    q = _write(tmp_path, "q.json", {"resourceType": "Questionnaire", "url": url, "status": "active",
                                    "item": [{"linkId": "age", "type": "integer"}]})
    qr = _write(tmp_path, "qr.json", {"resourceType": "QuestionnaireResponse", "questionnaire": url, "status": "completed",
                                      "item": [{"linkId": "age", "answer": [{"valueString": "ten"}]}]})
    out = io.StringIO()
    assert run([qr, q], validator=validator, stdout=out) == 1
    assert "QuestionnaireResponse.item[0].answer[0].valueString  (questionnaire-answer-type)" in out.getvalue()
    alone = io.StringIO()
    assert run([qr], validator=validator, stdout=alone) == 0  # without it: a warning, not an error
    assert "questionnaire-not-found" in alone.getvalue()


def test_unknown_extensions_option(tmp_path, validator):
    patient = {"resourceType": "Patient", "extension": [{"url": "https://fhir.vendor.test/StructureDefinition/shoe-size", "valueInteger": 38}]}
    file = _write(tmp_path, "ext.json", patient)
    out = io.StringIO()
    assert run([file], validator=validator, stdout=out) == 0
    assert "WARNING     Patient.extension[0]  (extension-unknown)" in out.getvalue()
    out = io.StringIO()
    assert run([file, "--unknown-extensions", "error"], validator=validator, stdout=out) == 1
    assert "ERROR       Patient.extension[0]  (extension-unknown)" in out.getvalue()
