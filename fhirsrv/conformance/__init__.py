"""FHIR conformance content: package loading and the canonical registry."""
