"""Factory functions: make the data a test needs, through the HTTP API where it can."""

import hashlib
import hmac
import itertools
import json
import time
from datetime import UTC, date, datetime
from typing import Any

import httpx
from fastapi import FastAPI

from app.models.access import ApiKeyCreate
from app.models.enums import Role
from app.services.access import keys
from app.services.access.permissions import Principal

Headers = dict[str, str]
_seq = itertools.count(1)


PROBLEM = "application/problem+json"


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] and body["title"] and body["detail"]
    return dict(body)


def assert_invalid(r: Any, field: str, message: str | None = None, *, code: str = "validation_error") -> None:
    body = assert_problem(r, 422, code)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert field in fields, f"no error names {field!r}: {body['errors']}"
    if message is not None:
        assert message in fields[field], fields[field]


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
    if body.get("stage") == "terminated":
        body.setdefault("note", "台账导入：已终止")
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

    async def read_status_by_role(self, path: str, params: dict[str, Any]) -> dict[str, int]:
        """The status a GET of ``path`` answers a key of each role (a leader key bound to a
        leader, a unit key to a unit)."""
        leader, unit = await self.leader(), await self.unit()
        got = {}
        for role in ("admin", "bureau", "leader", "unit", "integration", "viewer"):
            headers = await self.key(role, leader_id=leader["id"] if role == "leader" else None,
                                     unit_id=unit["id"] if role == "unit" else None)
            got[role] = (await self.client.get(path, headers=headers, params=params)).status_code
        return got

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

    # --- difficulties and supervision ------------------------------------------------------

    async def difficulty(self, project: dict[str, Any], headers: Headers | None = None,
                         **overrides: Any) -> dict[str, Any]:
        body = {"title": f"困难问题 {next(_seq)}", "category": "land", "due_on": "2099-12-31", **overrides}
        r = await self.client.post(f"/api/v1/projects/{project['id']}/difficulties", headers=headers or self.admin,
                                   json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def get_difficulty(self, difficulty_id: int, headers: Headers | None = None) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/difficulties/{difficulty_id}", headers=headers or self.admin)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def move_difficulty(self, difficulty: dict[str, Any], to: str, *, headers: Headers | None = None,
                              **extra: Any) -> httpx.Response:
        """POST a status move with the difficulty's current ETag (read afresh)."""
        current = await self.get_difficulty(difficulty["id"])
        return await self.client.post(
            f"/api/v1/difficulties/{difficulty['id']}/transitions",
            headers={**(headers or self.admin), "If-Match": f'"{current["version"]}"'}, json={"to": to, **extra})

    async def walk_difficulty(self, difficulty: dict[str, Any], to: str, *, on: str | None = None) -> dict[str, Any]:
        """Take a difficulty along the legal path to status ``to`` (as the admin)."""
        path = {"open": [], "in_progress": ["in_progress"], "resolved": ["in_progress", "resolved"],
                "closed": ["in_progress", "resolved", "closed"]}[to]
        for step in path:
            extra: dict[str, Any] = {"resolution": "已协调解决"} if step == "resolved" else {}
            if on is not None:
                extra["occurred_on"] = on
            r = await self.move_difficulty(difficulty, step, **extra)
            assert r.status_code == 201, r.text
        return await self.get_difficulty(difficulty["id"])

    async def timeline(self, difficulty_id: int, headers: Headers | None = None) -> list[dict[str, Any]]:
        r = await self.client.get(f"/api/v1/difficulties/{difficulty_id}/timeline", headers=headers or self.admin,
                                  params={"limit": 200})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def item(self, headers: Headers | None = None, **overrides: Any) -> dict[str, Any]:
        body = {"title": f"督办事项 {next(_seq)}", "source": "meeting_decision", **overrides}
        r = await self.client.post("/api/v1/supervision-items", headers=headers or self.admin, json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def task(self, item: dict[str, Any], unit: dict[str, Any], deadline: date | str,
                   headers: Headers | None = None, **overrides: Any) -> dict[str, Any]:
        body = {"title": f"任务 {next(_seq)}", "unit_id": unit["id"], "deadline": str(deadline), **overrides}
        r = await self.client.post(f"/api/v1/supervision-items/{item['id']}/tasks", headers=headers or self.admin,
                                   json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def report(self, task: dict[str, Any], percent: int, *, headers: Headers | None = None,
                     **extra: Any) -> httpx.Response:
        """POST a progress report with the task's current ETag (read afresh)."""
        current = await self.client.get(f"/api/v1/supervision-tasks/{task['id']}", headers=self.admin)
        return await self.client.post(
            f"/api/v1/supervision-tasks/{task['id']}/progress",
            headers={**(headers or self.admin), "If-Match": current.headers["ETag"]},
            json={"percent": percent, **extra})

    # --- approvals, integrations and webhooks ---------------------------------------------

    async def integration(self, name: str = "审批系统") -> "Integration":
        """An integration key with a signing secret, as an admin sets one up."""
        r = await self.client.post("/api/v1/api-keys", headers=self.admin, json={"name": name, "role": "integration"})
        assert r.status_code == 201, r.text
        key_id, key = r.json()["id"], r.json()["key"]
        secret = f"test-signing-secret-{key_id:04d}-0123456789abcdef"
        r = await self.client.put(f"/api/v1/api-keys/{key_id}/signing-secret", headers=self.admin,
                                  json={"secret": secret})
        assert r.status_code == 200, r.text
        return Integration(self.client, {"Authorization": f"Bearer {key}"}, secret, key_id)

    async def approval(self, project: dict[str, Any], headers: Headers | None = None, **fields: Any) -> dict[str, Any]:
        body = {"kind": "construction_permit", "authority": "市行政审批服务局", **fields}
        r = await self.client.post(f"/api/v1/projects/{project['id']}/approvals", headers=headers or self.admin,
                                   json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def approvals(self, project_id: int) -> list[dict[str, Any]]:
        r = await self.client.get(f"/api/v1/projects/{project_id}/approvals", headers=self.admin,
                                  params={"limit": 200})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def webhook(self, url: str, event_types: list[str] | None = None, **fields: Any) -> dict[str, Any]:
        r = await self.client.post("/api/v1/webhooks", headers=self.admin,
                                   json={"url": url, "event_types": event_types or ["*"], **fields})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def deliveries(self, webhook_id: int, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            r = await self.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=self.admin,
                                      params={"limit": 200, **params, **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            items += r.json()["items"]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                return items


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """An ``X-Signature`` value, computed the way the integration docs describe it."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": f"evt-{next(_seq):06d}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "project_code": "2020-370214-04-01-000001",
        "kind": "construction_permit",
        "authority": "市行政审批服务局",
        "status": "submitted",
    }
    body.update(overrides)
    return body


class Integration:
    """An approval system: its key, its secret, and a way to post signed events."""

    def __init__(self, client: httpx.AsyncClient, headers: Headers, secret: str, key_id: int) -> None:
        self.client, self.headers, self.secret, self.key_id = client, headers, secret, key_id

    async def post_raw(self, body: bytes, *, signature: str | None = None, timestamp: int | None = None,
                       headers: Headers | None = None) -> httpx.Response:
        signed = {"X-Signature": signature if signature is not None else sign(self.secret, body, timestamp)}
        return await self.client.post("/api/v1/integrations/approval-events", content=body,
                                      headers={**(headers or self.headers), "Content-Type": "application/json",
                                               **signed})

    async def post(self, event: dict[str, Any], **kw: Any) -> httpx.Response:
        return await self.post_raw(json.dumps(event, ensure_ascii=False).encode(), **kw)
