"""Security: authentication (SMART bearer JWT), authorisation (scopes + Belgian access rules)
and audit (IHE BALP AuditEvent). See docs/security.md.

The interactions call, with ``ctx = security.current()``:

* ``read_current(ctx, cur, rtype, rid)`` for a read (the resource and the access facts
  in one statement), ``authorize_read(ctx, stored, cur)`` after loading one resource
  otherwise (vread); both return what the caller is shown of it;
* ``filter_visible(ctx, results, cur)`` on any list of stored resources they return
  (search pages, ``_include``, history, ``$summary``, ``$everything``);
* ``restrict_sql(ctx)`` -> ``(sql, params)`` to AND into a search's WHERE clause;
* ``authorize_write(ctx, rtype, resource, cur, existing=…, letter=…)`` before a write, with
  the cursor of the transaction that will store it (that is what puts the AuditEvent in
  the same transaction);
* ``authorize_patient(ctx, patient_id, cur)`` for a patient-level operation
  (``Patient/{id}/$summary``) before assembling anything.

Outside a request, or with FHIRSRV_AUTH=off, ``current()`` is the development context and
every call allows (AuditEvents stay read-only through the API in every mode).
"""

from __future__ import annotations

from flask import current_app as flask_app
from flask import has_request_context

from .context import ANONYMOUS, DEVELOPMENT, AccessContext, Professional
from .context import current as _current
from .enforce import (
    Forbidden,
    authorize_patient,
    authorize_read,
    authorize_write,
    document_admit,
    exact_in_sql,
    filter_visible,
    read_current,
    refuse_protected,
    require_scope,
    restrict_sql,
)
from .guard import guard, guard_services
from .middleware import install


def current() -> AccessContext:
    """The caller of this request. Outside a request, or with FHIRSRV_AUTH=off, the development
    context; inside a request with auth on but no verified token, a context with no scopes
    (fail closed)."""
    ctx = _current()
    if ctx is not None:
        return ctx
    if has_request_context() and flask_app.extensions["fhirsrv"].settings.auth_enabled:
        return ANONYMOUS
    return DEVELOPMENT


__all__ = [
    "AccessContext", "DEVELOPMENT", "Forbidden", "Professional", "authorize_patient", "authorize_read",
    "authorize_write", "current", "exact_in_sql", "document_admit", "filter_visible", "guard", "guard_services", "install", "read_current", "refuse_protected",
    "require_scope", "restrict_sql",
]
