"""$summary authorises the caller for the patient before it reads anything of the patient's:
a caller who may not see the patient gets the 403 and causes no read of their data."""

from __future__ import annotations

import pytest

from fhirsrv.operations import summary as summary_operation

from .conftest import care_team, new_nihdi

SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"


@pytest.fixture()
def data_reads(monkeypatch) -> list[str]:
    """The patients whose data $summary loaded (its one query of the patient's resources)."""
    loaded: list[str] = []
    original = summary_operation.load_patient

    def spy(cur, patient_id, base):
        loaded.append(patient_id)
        return original(cur, patient_id, base)

    monkeypatch.setattr(summary_operation, "load_patient", spy)
    return loaded


def _patient_with_secret(world, ssin: str) -> tuple[str, str]:
    pid = world.patient()
    world.dev.put(f"Patient/{pid}", json={"resourceType": "Patient", "id": pid, "gender": "female",
                                          "identifier": [{"system": SSIN, "value": ssin}]})
    gp = new_nihdi()
    world.create(care_team(pid, gp, "gmd", 10))
    world.create({"resourceType": "Condition", "subject": {"reference": f"Patient/{pid}"},
                  "code": {"text": "Secret diagnosis"}})
    return pid, gp


@pytest.mark.parametrize("level", ["instance", "type"])
def test_refused_caller_causes_no_read_of_the_patients_data(api, world, tokens, data_reads, level):
    ssin = new_nihdi()
    pid, gp = _patient_with_secret(world, ssin)
    url, params = ((f"Patient/{pid}/$summary", None) if level == "instance"
                   else ("Patient/$summary", {"identifier": f"{SSIN}|{ssin}"}))
    allowed = api.call("GET", url, tokens.user("gp", gp), params=params)
    assert allowed.status_code == 200, allowed.text
    assert data_reads == [pid]  # the spy sees the load of an allowed call
    data_reads.clear()
    refused = api.call("GET", url, tokens.user("gp", new_nihdi()), params=params)
    assert refused.status_code == 403, refused.text
    [issue] = refused.json()["issue"]
    assert (issue["severity"], issue["code"]) == ("error", "forbidden")
    assert "Secret diagnosis" not in refused.text
    assert data_reads == []  # refused before the patient's data was queried
