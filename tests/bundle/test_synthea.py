"""The 25 Synthea patients load as the transactions they are (hospitals and practitioners first).

The module loads the whole set once (module scope) and the tests check what came back:
every entry a 2xx, no ``urn:uuid:`` or conditional reference left in what was stored, each
patient's Encounters pointing at the Patient's new server id and at the Practitioner the
conditional reference designated.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "synthea"
HOSPITALS = DATA / "hospitalInformation1633536936158.json"
PRACTITIONERS = DATA / "practitionerInformation1633536936158.json"
PATIENTS = sorted(p for p in DATA.glob("*_*.json"))
NPI = "http://hl7.org/fhir/sid/us-npi"
pytestmark = pytest.mark.slow  # about 1,600 entries a minute on a busy 2-core machine, validated
UNRESOLVED = re.compile(r'"reference":"(urn:uuid:[^"]*|[A-Za-z]+\?[^"]*)"')


def _id(entry: dict) -> str:
    return entry["response"]["location"].split("/_history/")[0].rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def loaded(large_body_base_url):
    """Post the two batches, then every patient transaction; keep requests and answers."""
    from tests.conftest import FhirClient

    timings: dict[str, float] = {}
    with FhirClient(large_body_base_url) as fhir:
        answers = {}
        for path in [HOSPITALS, PRACTITIONERS, *PATIENTS]:
            text = path.read_text(encoding="utf-8")
            started = time.perf_counter()
            answer = fhir.post("", data=text.encode("utf-8"))
            timings[path.name] = time.perf_counter() - started
            answers[path.name] = (json.loads(text), answer)
    patients_total = sum(timings[p.name] for p in PATIENTS)
    print(f"\nsynthea load: hospitals {timings[HOSPITALS.name]:.1f} s, practitioners "
          f"{timings[PRACTITIONERS.name]:.1f} s, 25 patients {patients_total:.1f} s")
    return answers


def test_the_data_is_all_there():
    assert len(PATIENTS) == 25
    assert (DATA / "ATTRIBUTION.md").exists() and (DATA / "LICENSE").exists()


def test_every_entry_of_every_bundle_succeeds(loaded):
    for name, (sent, answer) in loaded.items():
        assert answer.status_code == 200, (name, answer.text[:2000])
        reply = answer.json()
        expected = "transaction-response" if sent["type"] == "transaction" else "batch-response"
        assert reply["type"] == expected
        assert len(reply["entry"]) == len(sent["entry"])
        bad = [(i, e["response"]) for i, e in enumerate(reply["entry"]) if not e["response"]["status"].startswith("2")]
        assert not bad, (name, bad[:3])


def test_no_bundle_local_or_conditional_reference_is_stored(loaded):
    for name in (p.name for p in PATIENTS):
        text = loaded[name][1].text
        leftovers = UNRESOLVED.findall(text)
        assert not leftovers, (name, leftovers[:3])


def test_encounters_point_at_the_new_patient_and_the_resolved_practitioner(loaded, fhir):
    practitioners = loaded[PRACTITIONERS.name]
    npi_to_id = {}
    for sent, got in zip(practitioners[0]["entry"], practitioners[1].json()["entry"], strict=True):
        if sent["resource"]["resourceType"] == "Practitioner":
            npi = next(i["value"] for i in sent["resource"]["identifier"] if i["system"] == NPI)
            npi_to_id[npi] = _id(got)
    for path in PATIENTS:
        sent, answer = loaded[path.name]
        reply = answer.json()["entry"]
        patient_id = next(_id(got) for s, got in zip(sent["entry"], reply, strict=True)
                          if s["resource"]["resourceType"] == "Patient")
        pairs = [(s, got) for s, got in zip(sent["entry"], reply, strict=True)
                 if s["resource"]["resourceType"] == "Encounter"]
        assert pairs, path.name
        for s, got in pairs[:3]:  # read back a few through the REST API
            stored = fhir.get(f"Encounter/{_id(got)}").json()
            assert stored["subject"]["reference"] == f"Patient/{patient_id}"
            wanted = s["resource"]["participant"][0]["individual"]["reference"]
            npi = wanted.rsplit("|", 1)[1]
            assert stored["participant"][0]["individual"]["reference"] == f"Practitioner/{npi_to_id[npi]}"
        for _, got in pairs:  # and all of them from the response
            assert got["resource"]["subject"]["reference"] == f"Patient/{patient_id}"


def test_practitioners_load_again_as_matches_not_duplicates(loaded, large_body_base_url):
    """Conditional creates are idempotent: posting (part of) a batch again creates nothing."""
    from tests.conftest import FhirClient

    sent, first = loaded[PRACTITIONERS.name]
    part = {**sent, "entry": sent["entry"][:200]}
    with FhirClient(large_body_base_url) as fhir:
        again = fhir.post("", data=json.dumps(part)).json()["entry"]
    for before, after, entry in zip(first.json()["entry"], again, part["entry"], strict=False):
        if entry["request"].get("ifNoneExist"):
            assert after["response"]["status"] == "200 OK"
            assert after["response"]["location"] == before["response"]["location"]
        else:
            assert after["response"]["status"] == "201 Created"
