"""Factory functions: make the data a test needs, through the HTTP API where it can."""

import itertools
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI

from app.models.access import ApiKeyCreate
from app.models.enums import Role
from app.services import keys
from app.services.permissions import Principal

Headers = dict[str, str]
_seq = itertools.count(1)


def project_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body: dict[str, Any] = {
        "name": f"测试项目 {n:05d}",
        "investor": f"投资方 {n:05d}",
        "investor_country": "CN",
        "funding_source": "domestic",
        "industry": "new_materials",
        "zone": "binhai_new_area",
        "total_investment": {"amount": "100000000.00", "currency": "CNY"},
    }
    if overrides.get("stage") == "terminated":
        body["note"] = "测试：登记已终止的项目"  # the registry asks why a project registered as terminated ended
    body.update(overrides)
    return body


class Api:
    """An HTTP client with an admin key and shortcuts for making data."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        self.client = client
        self.app = app
        self.admin: Headers = {}

    async def setup_admin(self) -> None:
        # The first key comes from the operator, as `pipeline create-key` does it.
        async with self.app.state.sessionmaker() as session, session.begin():
            created = await keys.create_key(session, data=ApiKeyCreate(name="test admin", role=Role.admin),
                                            actor=Principal.operator("test"))
        self.admin = {"Authorization": f"Bearer {created.key}"}

    async def key(self, role: str, *, leader_id: int | None = None, unit_id: int | None = None) -> Headers:
        r = await self.client.post("/api/v1/api-keys", headers=self.admin,
                                   json={"name": f"{role} key", "role": role, "leader_id": leader_id,
                                         "unit_id": unit_id})
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['key']}"}

    async def leader(self, name: str | None = None, **kw: Any) -> dict[str, Any]:
        r = await self.client.post("/api/v1/leaders", headers=self.admin,
                                   json={"name": name or f"领导{next(_seq)}", "title": "副市长", **kw})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def unit(self, name: str | None = None, **kw: Any) -> dict[str, Any]:
        r = await self.client.post("/api/v1/units", headers=self.admin,
                                   json={"name": name or f"责任单位{next(_seq)}", **kw})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def project(self, headers: Headers | None = None, **overrides: Any) -> dict[str, Any]:
        r = await self.client.post("/api/v1/projects", headers=headers or self.admin, json=project_body(**overrides))
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def move(self, project: dict[str, Any], to: str, on: date | str, *, headers: Headers | None = None,
                   **extra: Any) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/projects/{project['id']}/transitions",
            headers={**(headers or self.admin), "If-Match": f'"{project["version"]}"'},
            json={"to": to, "occurred_on": str(on), **extra})

    async def get_project(self, project_id: int, headers: Headers | None = None) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/projects/{project_id}", headers=headers or self.admin)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def audit(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get("/api/v1/audit-events", headers=self.admin, params={"limit": 200, **params})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])
