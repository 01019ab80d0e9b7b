"""``/investors``, the follow-up log, FDI receipts and ``/signing-events``."""

from typing import Annotated

from fastapi import Query, Response, status

from app.deps import Allowed, IfMatch, Session
from app.models.fields import CountryCode
from app.models.promotion import InvestorCreate, InvestorRead, InvestorUpdate
from app.routers.common import Cursor, Id, Limit, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.promotion import investors as investor_service

investors = make_router("/api/v1/investors", "investors")
INVESTOR_SORTS = [f"{d}{k}" for k in investor_service.SORT_KEYS for d in ("", "-")]


@investors.post("", status_code=status.HTTP_201_CREATED, response_model=InvestorRead, responses=problems(409))
async def create_investor(body: InvestorCreate, response: Response, session: Session,
                          principal: Principal = Allowed(Action.investor_write)) -> InvestorRead:
    """Add an investor (客商). A credit code another investor has is 409 ``credit_code_taken``."""
    investor = await investor_service.create(session, data=body, actor=principal)
    set_etag(response, investor.version)
    response.headers["Location"] = f"{investors.prefix}/{investor.id}"
    return investor


@investors.get("", response_model=Page[InvestorRead])
async def list_investors(
    session: Session, principal: Principal = Allowed(Action.investor_read),
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$",
                                   description="Text search in the name.")] = None,
    country: Annotated[list[CountryCode], Query(max_length=20)] = [],  # noqa: B006 - FastAPI copies defaults
    fortune_global_500: bool | None = None,
    credit_code: Annotated[str | None, Query(min_length=18, max_length=18, pattern=r"^[0-9A-Z]{18}$")] = None,
    archived: bool = False,
    sort: Annotated[str, Query(json_schema_extra={"enum": INVESTOR_SORTS},
                               description="A field; prefix - to descend.")] = "name",
    limit: Limit = 50, cursor: Cursor = None,
) -> Page[InvestorRead]:
    """List investors, filtered, in keyset pages."""
    return await investor_service.listing(session, q=q, country=country, fortune_global_500=fortune_global_500,
                                          credit_code=credit_code, archived=archived, sort=sort, cursor=cursor,
                                          limit=limit)


@investors.get("/{investor_id}", response_model=InvestorRead, responses=problems(404))
async def get_investor(investor_id: Id, response: Response, session: Session,
                       principal: Principal = Allowed(Action.investor_read)) -> InvestorRead:
    """One investor; its ETag is what a change must send as If-Match."""
    investor = investor_service.to_read(await investor_service.get(session, investor_id))
    set_etag(response, investor.version)
    return investor


@investors.patch("/{investor_id}", response_model=InvestorRead, responses=problems(404, 409, 412, 428))
async def update_investor(investor_id: Id, body: InvestorUpdate, response: Response, session: Session,
                          if_match: IfMatch, principal: Principal = Allowed(Action.investor_write)) -> InvestorRead:
    """Change an investor. A new name or country is copied to its projects (each gets a new version)."""
    investor = await investor_service.update_investor(session, investor_id, data=body, if_match=if_match,
                                                      actor=principal)
    set_etag(response, investor.version)
    return investor


@investors.delete("/{investor_id}", response_model=InvestorRead, responses=problems(404, 409, 412, 428))
async def archive_investor(investor_id: Id, response: Response, session: Session, if_match: IfMatch,
                           principal: Principal = Allowed(Action.investor_write)) -> InvestorRead:
    """Archive an investor (nothing is deleted); its projects keep their link."""
    investor = await investor_service.archive(session, investor_id, if_match=if_match, actor=principal)
    set_etag(response, investor.version)
    return investor
