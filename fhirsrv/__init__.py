"""fhirsrv: a FHIR R4 server for patient summaries and EHDS conformance."""

__version__ = "0.1.0"
FHIR_VERSION = "4.0.1"
