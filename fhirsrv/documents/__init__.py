"""Patient-summary documents: ingest (validate → decompose → store) and IPS generation.

* :mod:`.ingest` stores a received document Bundle and its entries in one transaction;
* :mod:`.ips_builder` generates a fresh IPS / EU PS document from the stored data
  (``Patient/$summary``) and assembles ``Composition/$document``;
* :mod:`.profiles` and :mod:`.sections` read what a document profile demands from the
  StructureDefinitions in the registry, so a new IPS version is a package, not code.
"""
