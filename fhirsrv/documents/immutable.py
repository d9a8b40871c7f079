"""A stored document does not change: PUT over an ingested document Bundle is refused.

Ingest (``POST [base]/Bundle``) keeps each document exactly as received, as the legal record
its DocumentReference points at, under a ``Bundle.identifier`` that is never reused. A PUT
over it would make ``GET Bundle/{id}`` answer something nobody sent (and the sender's repost
of the original a 409). A newer document from the same source supersedes an older one; a
document sent in error is withdrawn with ``DELETE`` (:mod:`.withdraw`).

:func:`refuse_document_change` is the ``ResourceStore`` update protection for ``Bundle``
(:mod:`fhirsrv.services`), so REST, conditional and transaction PUTs all meet it.
"""

from __future__ import annotations

from psycopg import Cursor

from ..errors import FhirError
from . import records


def refuse_document_change(cur: Cursor, rid: str) -> None:
    """405 when ``Bundle/rid`` is a document that ingest stored (one indexed lookup)."""
    if records.is_document(cur, rid):
        raise FhirError(
            f"Bundle/{rid} is a stored document: documents do not change, so it cannot be updated; "
            "to replace it, POST a newer document from the same source to [base]/Bundle (it supersedes "
            f"this one); to withdraw a document sent in error, DELETE Bundle/{rid}",
            status=405, code="not-supported",
        )
