"""FHIR operations (``$name``): one module per operation, registered in :mod:`.framework`."""
