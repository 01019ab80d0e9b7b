"""``/integrations/approval-events`` (signed events from approval systems) and the
signing secrets of integration keys (``/api-keys/{id}/signing-secret``)."""

import time
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.deps import Allowed, Session, current_principal, settings_of
from app.models.approval import (
    ApprovalEventIn,
    ApprovalEventRead,
    ApprovalEventReceipt,
    SigningSecretCreated,
    SigningSecretRead,
    SigningSecretSet,
)
from app.models.enums import ApprovalEventOutcome
from app.models.fields import ProjectCodeLookup
from app.routers.common import Cursor, Id, Limit, make_router, problems
from app.services.access.permissions import Action, Principal
from app.services.approvals import events as approval_events
from app.services.approvals import secrets as signing_secrets
from app.services.common import signing
from app.services.common.pagination import Page

events = make_router("/api/v1/integrations/approval-events", "integrations")
secrets = make_router("/api/v1/api-keys", "api-keys")

SIGNATURE_DOC = (
    "`t=<unix seconds>,v1=<hex>`: HMAC-SHA256 with the key's signing secret over the ASCII timestamp, "
    "a dot, and the raw body (`<t>.<body>`). Refused when the timestamp is more than 5 minutes off.")


async def signed(
    request: Request,
    session: Session,
    principal: Annotated[Principal, Depends(current_principal, scope="function")],
    x_signature: Annotated[str | None, Header(alias=signing.HEADER, description=SIGNATURE_DOC)] = None,
) -> None:
    """Checks the signature over the raw body, before the body is parsed."""
    settings = await settings_of(request)
    await signing_secrets.verify_request(session, principal, signature=x_signature, body=await request.body(),
                                      now=time.time(), tolerance=settings.signature_tolerance_seconds)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` written in place, to document a raw body."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return dict(walk(schema))


EVENT_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": _inline(ApprovalEventIn.model_json_schema())}}}}


def parse_event(raw: bytes) -> ApprovalEventIn:
    """The body as an event, or 422 naming each bad field (as for any other body)."""
    try:
        return ApprovalEventIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


@events.post("", response_model=ApprovalEventReceipt, openapi_extra=EVENT_BODY, responses={
    **problems(409), 202: {"model": ApprovalEventReceipt,
                           "description": "No project has the code yet: the event is kept and applied when one "
                                          "gets it."}})
async def post_approval_event(
    request: Request,
    response: Response,
    session: Session,
    principal: Principal = Allowed(Action.approval_event_post),
    _signature: None = Depends(signed),
) -> ApprovalEventReceipt:
    """Report an approval item's status change (integration keys only, signed).

    Sign the raw body: `X-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
    A resent event (same `event_id`) changes nothing and gets the same answer. An event older
    than the latest applied to its item changes nothing (`stale`). 200 when the project is
    known; 202 when it is not yet (`unmatched`: kept, applied when a project gets the code).
    The signature is checked before the body is even parsed."""
    body = parse_event(await request.body())
    receipt = await approval_events.receive(session, principal, data=body)
    # Accepted, not done: the event waits for a project to take its code.
    response.status_code = 202 if receipt.outcome == ApprovalEventOutcome.unmatched else 200
    return receipt


@events.get("", response_model=Page[ApprovalEventRead])
async def list_approval_events(
    session: Session,
    principal: Principal = Allowed(Action.approval_event_read),
    matched: Annotated[bool | None, Query(description="false: only events no project has matched yet.")] = None,
    outcome: ApprovalEventOutcome | None = None,
    project_code: ProjectCodeLookup | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ApprovalEventRead]:
    """Received events, newest first. `?matched=false`: those waiting for a project with their code."""
    return await approval_events.list_events(session, matched=matched, outcome=outcome, project_code=project_code,
                                             cursor=cursor, limit=limit)


@secrets.put("/{key_id}/signing-secret", response_model=SigningSecretCreated, responses=problems(404, 409))
async def set_signing_secret(key_id: Id, body: SigningSecretSet, response: Response, session: Session,
                             principal: Principal = Allowed(Action.api_key_manage)) -> SigningSecretCreated:
    """Set or replace an integration key's signing secret. It is stored as given (verifying an
    HMAC needs it) and shown in this response only; the previous secret stops working at once."""
    created = await signing_secrets.set_secret(session, key_id, data=body, actor=principal)
    response.headers["Cache-Control"] = "no-store"
    return created


@secrets.get("/{key_id}/signing-secret", response_model=SigningSecretRead, responses=problems(404))
async def get_signing_secret(key_id: Id, session: Session,
                             principal: Principal = Allowed(Action.api_key_manage)) -> SigningSecretRead:
    """Whether, when and by whom an integration key's secret was set; never the secret."""
    return await signing_secrets.read_secret(session, key_id)
