"""``fhirsrv import``: bulk loading of FHIR files into fhirsrv, safe to run twice.

sources (which files, in which order) → plan (idempotent requests per file) → runner (send,
account for every resource) → cli (progress bar, summary, exit status). The client is a
running server over HTTP or the application in-process; both use the server's own API.
"""
