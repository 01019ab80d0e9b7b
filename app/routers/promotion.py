"""``/investors``, the follow-up log, FDI receipts and ``/signing-events``."""

from typing import Annotated

from fastapi import Path, Query, Response, status

from app.clock import today
from app.deps import Allowed, IfMatch, ReadSession, Session
from app.errors import InvalidInput
from app.models.enums import CohortBy, FollowUpKind
from app.models.fields import BusinessDate, CountryCode
from app.models.promotion import (
    FdiReceiptRead,
    FollowUpCreate,
    FollowUpRead,
    InvestorCreate,
    InvestorRead,
    InvestorUpdate,
    SigningEventCreate,
    SigningEventRead,
    SigningEventUpdate,
)
from app.models.stats import CohortStats, SigningEventStats
from app.routers.common import Cursor, Id, Limit, PositiveId, make_router, problems, set_etag
from app.services.access.permissions import Action, Principal
from app.services.common.pagination import Page
from app.services.promotion import fdi as fdi_service
from app.services.promotion import follow_ups as follow_up_service
from app.services.promotion import investors as investor_service
from app.services.promotion import signing_events as signing_event_service
from app.services.stats import cohorts as cohort_service

BigId = Annotated[int, Path(ge=1, le=2**63 - 1)]
AsOf = Annotated[BusinessDate | None, Query(description="The date to report on; today when omitted.")]

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


# --- the follow-up log ----------------------------------------------------------------------

project_follow_ups = make_router("/api/v1/projects", "follow-ups")
follow_ups = make_router("/api/v1/follow-ups", "follow-ups")
FOLLOW_UP_SORTS = [f"{d}{k}" for k in follow_up_service.SORT_KEYS for d in ("", "-")]
FollowUpSort = Annotated[str, Query(json_schema_extra={"enum": FOLLOW_UP_SORTS},
                                    description="A field; prefix - to descend.")]


@project_follow_ups.post("/{project_id}/follow-ups", status_code=status.HTTP_201_CREATED,
                         response_model=FollowUpRead, responses=problems(404, 409))
async def create_follow_up(project_id: Id, body: FollowUpCreate, response: Response, session: Session,
                           principal: Principal = Allowed(Action.follow_up_write)) -> FollowUpRead:
    """Add an entry to a project's follow-up log (跟踪记录). Entries are never changed: to correct
    one, add a new entry with `corrects_id`."""
    entry = await follow_up_service.create(session, principal, project_id, data=body, today=today())
    response.headers["Location"] = f"{follow_ups.prefix}/{entry.id}"
    return entry


@project_follow_ups.get("/{project_id}/follow-ups", response_model=Page[FollowUpRead], responses=problems(404))
async def list_project_follow_ups(project_id: Id, session: Session,
                                  principal: Principal = Allowed(Action.follow_up_read),
                                  sort: FollowUpSort = "occurred_on", limit: Limit = 50,
                                  cursor: Cursor = None) -> Page[FollowUpRead]:
    """A project's follow-up log, oldest first (corrected entries too, with `corrected_by_id`)."""
    return await follow_up_service.listing(session, principal,
                                           filters=follow_up_service.FollowUpFilters(project_id=project_id),
                                           sort=sort, cursor=cursor, limit=limit, today=today())


@follow_ups.get("", response_model=Page[FollowUpRead])
async def list_follow_ups(
    session: Session, principal: Principal = Allowed(Action.follow_up_read),
    leader_id: Annotated[list[PositiveId], Query(max_length=50, description=(
        "Entries on the projects these leaders are in charge of, or where they were present."))] = [],  # noqa: B006
    unit_id: Annotated[list[PositiveId], Query(max_length=50)] = [],  # noqa: B006
    kind: Annotated[list[FollowUpKind], Query(max_length=7)] = [],  # noqa: B006
    since: Annotated[BusinessDate | None, Query(description="occurred_on on or after.")] = None,
    until: Annotated[BusinessDate | None, Query(description="occurred_on on or before.")] = None,
    overdue: Annotated[bool | None, Query(description=(
        "Only entries whose next_contact_on has passed with no newer entry on the project (or, false, "
        "only the others)."))] = None,
    sort: FollowUpSort = "-occurred_on", limit: Limit = 50, cursor: Cursor = None,
) -> Page[FollowUpRead]:
    """Follow-up entries across projects, newest first."""
    if since is not None and until is not None and until < since:
        raise InvalidInput.field("until", "must not be before since")
    filters = follow_up_service.FollowUpFilters(leader_id=leader_id, unit_id=unit_id, kind=kind, since=since,
                                                until=until, overdue=overdue)
    return await follow_up_service.listing(session, principal, filters=filters, sort=sort, cursor=cursor,
                                           limit=limit, today=today())


@follow_ups.get("/{follow_up_id}", response_model=FollowUpRead, responses=problems(404))
async def get_follow_up(follow_up_id: BigId, session: Session,
                        principal: Principal = Allowed(Action.follow_up_read)) -> FollowUpRead:
    """One follow-up entry."""
    return await follow_up_service.read_one(session, principal, follow_up_id, today=today())


# --- utilised foreign investment --------------------------------------------------------------

fdi_receipts = make_router("/api/v1/projects", "foreign-investment")


@fdi_receipts.post("/{project_id}/fdi-receipts", status_code=status.HTTP_410_GONE, deprecated=True,
                   response_model=None, responses={410: problems(410)[410]})
async def create_fdi_receipt(project_id: Id, principal: Principal = Allowed(Action.fdi_write)) -> None:
    """Retired: always 410 `fdi_receipts_retired`. Utilised foreign investment (实际使用外资) is
    `fdi_utilised` in the project's monthly report (`POST /projects/{id}/progress-reports`),
    counted once the report is accepted; the receipts recorded here before were moved into the
    reports (`docs/PROMOTION.md`)."""
    raise fdi_service.retired(project_id)


@fdi_receipts.get("/{project_id}/fdi-receipts", response_model=Page[FdiReceiptRead], responses=problems(404),
                  deprecated=True)
async def list_fdi_receipts(project_id: Id, session: Session, principal: Principal = Allowed(Action.fdi_read),
                            limit: Limit = 50, cursor: Cursor = None) -> Page[FdiReceiptRead]:
    """A project's FDI receipts, recorded before the monthly reports carried utilised FDI, in
    the order they were recorded; kept as they were, read-only. They no longer count: the
    figures read the accepted monthly reports, into which they were moved."""
    return await fdi_service.list_receipts(session, principal, project_id, cursor=cursor, limit=limit)


# --- signing events and cohorts -------------------------------------------------------------

signing_events = make_router("/api/v1/signing-events", "signing-events")
promotion_stats = make_router("/api/v1/stats", "stats")
EVENT_SORTS = [f"{d}{k}" for k in signing_event_service.SORT_KEYS for d in ("", "-")]


@signing_events.post("", status_code=status.HTTP_201_CREATED, response_model=SigningEventRead)
async def create_signing_event(body: SigningEventCreate, response: Response, session: Session,
                               principal: Principal = Allowed(Action.signing_event_write)) -> SigningEventRead:
    """Add a signing event (签约活动: an investment fair, a promotion week)."""
    event = await signing_event_service.create(session, data=body, actor=principal)
    set_etag(response, event.version)
    response.headers["Location"] = f"{signing_events.prefix}/{event.id}"
    return event


@signing_events.get("", response_model=Page[SigningEventRead])
async def list_signing_events(session: Session, principal: Principal = Allowed(Action.signing_event_read),
                              year: Annotated[int | None, Query(ge=1990, le=2100)] = None, archived: bool = False,
                              sort: Annotated[str, Query(json_schema_extra={"enum": EVENT_SORTS},
                                                         description="A field; prefix - to descend.")] = "held_on",
                              limit: Limit = 50, cursor: Cursor = None) -> Page[SigningEventRead]:
    """List signing events, in keyset pages."""
    return await signing_event_service.listing(session, year=year, archived=archived, sort=sort, cursor=cursor,
                                               limit=limit)


@signing_events.get("/{signing_event_id}", response_model=SigningEventRead, responses=problems(404))
async def get_signing_event(signing_event_id: Id, response: Response, session: Session,
                            principal: Principal = Allowed(Action.signing_event_read)) -> SigningEventRead:
    """One signing event."""
    event = signing_event_service.to_read(await signing_event_service.get(session, signing_event_id))
    set_etag(response, event.version)
    return event


@signing_events.patch("/{signing_event_id}", response_model=SigningEventRead, responses=problems(404, 412, 428))
async def update_signing_event(signing_event_id: Id, body: SigningEventUpdate, response: Response, session: Session,
                               if_match: IfMatch,
                               principal: Principal = Allowed(Action.signing_event_write)) -> SigningEventRead:
    """Change a signing event."""
    event = await signing_event_service.update(session, signing_event_id, data=body, if_match=if_match,
                                               actor=principal)
    set_etag(response, event.version)
    return event


@signing_events.delete("/{signing_event_id}", response_model=SigningEventRead,
                       responses=problems(404, 409, 412, 428))
async def archive_signing_event(signing_event_id: Id, response: Response, session: Session, if_match: IfMatch,
                                principal: Principal = Allowed(Action.signing_event_write)) -> SigningEventRead:
    """Archive a signing event (nothing is deleted; the moves that name it keep it)."""
    event = await signing_event_service.archive(session, signing_event_id, if_match=if_match, actor=principal)
    set_etag(response, event.version)
    return event


@promotion_stats.get("/signing-events/{signing_event_id}", response_model=SigningEventStats, responses=problems(404))
async def signing_event_stats(signing_event_id: Id, session: ReadSession, as_of: AsOf = None,
                              principal: Principal = Allowed(Action.stats_read)) -> SigningEventStats:
    """What a signing event brought, as it stood on `as_of`: the projects signed there, their total,
    how many have since registered, started, produced or been terminated, and their contracted and
    utilised FDI, each with a link to its projects."""
    return await cohort_service.signing_event_stats(session, signing_event_id, as_of=as_of or today(),
                                                    today=today())


@promotion_stats.get("/cohorts", response_model=CohortStats)
async def cohorts(session: ReadSession, by: CohortBy = CohortBy.signed_year, as_of: AsOf = None,
                  principal: Principal = Allowed(Action.stats_read)) -> CohortStats:
    """Conversion per cohort (the year, or the signing event, a project was signed in) on `as_of`:
    signed (count, amount), registered or landed (落地率), under construction (开工率), in
    production (投产率), terminated, and utilised against contracted FDI."""
    return await cohort_service.cohorts(session, by=by, as_of=as_of or today(), today=today())
