"""Shortcuts for monthly scheduling tests: plans, reports and reviews over HTTP."""

from datetime import date
from typing import Any

from app.clock import today
from tests.factories import Api, Headers


def cny(amount: str | int) -> dict[str, str]:
    return {"amount": f"{amount}", "currency": "CNY"}


def months_ago(n: int, on: date | None = None) -> tuple[int, int]:
    """(year, month) ``n`` months before the month of ``on`` (today)."""
    on = on or today()
    index = on.year * 12 + on.month - 1 - n
    return index // 12, index % 12 + 1


async def building(api: Api, **overrides: Any) -> dict[str, Any]:
    """A project under construction since well before the months the tests report."""
    return await api.project(stage="under_construction", stage_entered_on="2019-01-01", **overrides)


async def plan(api: Api, project: dict[str, Any], year: int, amount: str | int = "12000000.00",
               headers: Headers | None = None, **extra: Any) -> dict[str, Any]:
    r = await api.client.post(f"/api/v1/projects/{project['id']}/annual-plans", headers=headers or api.admin,
                              json={"year": year, "planned_investment": cny(amount), **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def file(api: Api, project: dict[str, Any], year: int, month: int, amount: str | int = "1000000.00",
               headers: Headers | None = None, **extra: Any) -> dict[str, Any]:
    r = await api.client.post(f"/api/v1/projects/{project['id']}/progress-reports", headers=headers or api.admin,
                              json={"year": year, "month": month, "investment_completed": cny(amount), **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def review(api: Api, report: dict[str, Any], decision: str = "accept", *, reason: str | None = None,
                 headers: Headers | None = None) -> dict[str, Any]:
    current = await api.client.get(f"/api/v1/progress-reports/{report['id']}", headers=api.admin)
    body: dict[str, Any] = {"decision": decision, **({"reason": reason} if reason else {})}
    r = await api.client.post(f"/api/v1/progress-reports/{report['id']}/review",
                              headers={**(headers or api.admin), "If-Match": current.headers["ETag"]}, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def accepted(api: Api, project: dict[str, Any], year: int, month: int, amount: str | int = "1000000.00",
                   **extra: Any) -> dict[str, Any]:
    return await review(api, await file(api, project, year, month, amount, **extra))
