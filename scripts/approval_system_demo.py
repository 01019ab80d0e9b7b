#!/usr/bin/env python3
"""Play an approval system (审批系统) against a running pipeline service.

It pushes signed approval-status events for a project the way the city's approval
system or the national online approval platform would, shows how the service
answers (applied, a resent event answered the same, a late event ignored as stale, an
event for a code nobody has yet kept as unmatched, a tampered signature refused), and,
with ``--listen``, receives the project and approval events the service sends back
through a webhook, checking their signatures.

Start the service with the demo data (it prints an admin key)::

    ./scripts/run

then, in another shell, with that admin key::

    .venv/bin/python scripts/approval_system_demo.py --admin-key ipk_... --listen 8765

With ``--admin-key`` the script sets itself up: it issues an ``integration`` key,
sets that key's signing secret (``PUT /api/v1/api-keys/{id}/signing-secret``), picks
a demo project that has a national project code, and with ``--listen`` subscribes
its own receiver (``POST /api/v1/webhooks``). Without it, pass an integration key,
its secret and a project code::

    .venv/bin/python scripts/approval_system_demo.py --key ipk_... --secret ... \\
        --project-code 2022-370214-26-01-000001

Every request is signed as the service expects (see ``app/services/signing.py``)::

    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

The script needs only the standard library and httpx.
"""

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

API = "/api/v1"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - t) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


class ApprovalSystem:
    """Posts signed events with one integration key."""

    def __init__(self, client: httpx.Client, key: str, secret: str) -> None:
        self.client, self.key, self.secret = client, key, secret

    def post(self, event: dict[str, Any], *, signature: str | None = None) -> httpx.Response:
        body = json.dumps(event, ensure_ascii=False).encode()
        return self.client.post(f"{API}/integrations/approval-events", content=body, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
            "X-Signature": signature or sign(self.secret, body)})


def show(label: str, response: httpx.Response) -> None:
    try:
        detail: Any = response.json()
    except ValueError:
        detail = response.text
    if isinstance(detail, dict) and "outcome" in detail:
        detail = {k: detail[k] for k in ("outcome", "project_id", "approval_item_id")}
    elif isinstance(detail, dict) and "code" in detail:
        detail = {"code": detail["code"], "detail": detail.get("detail")}
    print(f"  {label:<46} -> {response.status_code} {json.dumps(detail, ensure_ascii=False)}")


def receiver(port: int, secret_holder: dict[str, str]) -> ThreadingHTTPServer:
    """A webhook receiver on 127.0.0.1 that prints each event and whether its signature holds."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify(secret_holder.get("secret", ""), self.headers.get("X-Signature", ""), body)
            event = json.loads(body)
            print(f"  webhook <- {event['type']:<24} id={event['id'][:8]}… attempt "
                  f"{self.headers.get('X-Delivery-Attempt')} signature {'ok' if ok else 'BAD'}")
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def set_up(client: httpx.Client, admin_key: str, listen: int | None,
           secret_holder: dict[str, str]) -> tuple[str, str, str, int]:
    """Issue an integration key with a secret, pick a project with a code, subscribe a receiver."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    r = client.post(f"{API}/api-keys", headers=admin,
                    json={"name": f"审批系统(演示) {datetime.now(UTC):%H%M%S}", "role": "integration"})
    r.raise_for_status()
    key_id, key = r.json()["id"], r.json()["key"]
    secret = "demo-" + secrets.token_urlsafe(32)
    client.put(f"{API}/api-keys/{key_id}/signing-secret", headers=admin, json={"secret": secret}).raise_for_status()
    print(f"  issued integration key {key_id} and set its signing secret")
    code, project_id = None, 0
    cursor = None
    while code is None:
        page = client.get(f"{API}/projects", headers=admin, params={
            "stage": "preliminary", "limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        with_code = [p for p in page["items"] if p["code"]]
        if with_code:
            code, project_id = with_code[0]["code"], with_code[0]["id"]
            print(f"  project {project_id} 《{with_code[0]['name']}》 has the code {code}")
        elif not page["next_cursor"]:
            sys.exit("no preliminary project with a project code: load the demo data (pipeline seed-demo)")
        cursor = page["next_cursor"]
    if listen is not None:
        r = client.post(f"{API}/webhooks", headers=admin, json={
            "url": f"http://127.0.0.1:{listen}/pipeline-events", "event_types": ["project.*", "approval.*"],
            "description": "审批系统(演示) 接收项目事件"})
        r.raise_for_status()
        secret_holder["secret"] = r.json()["secret"]
        print(f"  subscribed http://127.0.0.1:{listen}/pipeline-events to project.* and approval.*")
    return key, secret, str(code), project_id


def play(system: ApprovalSystem, code: str) -> None:
    """The story of one project's approvals, as an approval system reports it."""
    base = datetime.now(UTC) - timedelta(days=40)
    day = (base + timedelta(days=0)).date()
    run = uuid.uuid4().hex[:8]

    def event(n: int, kind: str, status: str, minutes: int, **fields: Any) -> dict[str, Any]:
        return {"event_id": f"demo-{run}-{n}", "occurred_at": (base + timedelta(minutes=minutes)).isoformat(),
                "project_code": code, "kind": kind, "authority": fields.pop("authority", "市行政审批服务局"),
                "status": status, **fields}

    land = "land_pre_review_siting"
    submitted = event(1, land, "submitted", 0, authority="市自然资源和规划局", reference=f"YD-{run}",
                      submitted_on=str(day))
    print("\n1. 用地预审与选址: submitted, accepted, approved (in order)")
    show("submitted", system.post(submitted))
    show("accepted", system.post(event(2, land, "accepted", 60 * 24, authority="市自然资源和规划局",
                                      reference=f"YD-{run}")))
    show("approved after 12 days", system.post(event(3, land, "approved", 60 * 24 * 12, authority="市自然资源和规划局",
                                                    reference=f"YD-{run}",
                                                    decided_on=str(day + timedelta(days=12)))))
    print("\n2. The network hiccups: the first event is sent again, and a late copy of 'accepted' arrives")
    show("submitted, resent (same event_id)", system.post(submitted))
    show("accepted, arriving late (older occurred_at)",
         system.post(event(4, land, "accepted", 60 * 24 * 2, authority="市自然资源和规划局", reference=f"YD-{run}")))
    print("\n3. 施工许可: submitted 30 days ago with a 7-day limit: overdue")
    show("submitted", system.post(event(5, "construction_permit", "submitted", 60 * 24 * 10,
                                        submitted_on=str(day + timedelta(days=10)), reference=f"SG-{run}")))
    print("\n4. An event for a project the bureau has not registered yet")
    unknown = "2099-370214-99-99-" + run[:6].translate(str.maketrans("abcdef", "123456"))
    show(f"project code {unknown}", system.post(event(6, "environmental_impact_assessment", "submitted", 60,
                                                      authority="市生态环境局", project_code=unknown,
                                                      submitted_on=str(day))))
    print("\n5. Forgeries")
    body = json.dumps(event(7, land, "rejected", 60 * 24 * 13, authority="市自然资源和规划局",
                            decided_on=str(day + timedelta(days=13))), ensure_ascii=False).encode()
    show("body changed after signing", system.post(
        json.loads(body.replace(b"rejected", b"approved")), signature=sign(system.secret, body)))
    show("signed 10 minutes ago (replayed)", system.post(json.loads(body), signature=sign(
        system.secret, body, int(time.time()) - 600)))
    show("signed with another secret", system.post(json.loads(body), signature=sign("not-the-secret", body)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--admin-key", help="set everything up with this admin key")
    parser.add_argument("--key", help="an integration key (without --admin-key)")
    parser.add_argument("--secret", help="its signing secret (without --admin-key)")
    parser.add_argument("--project-code", help="the project to report on (without --admin-key)")
    parser.add_argument("--listen", type=int, metavar="PORT", help="receive webhooks on 127.0.0.1:PORT")
    args = parser.parse_args()
    secret_holder: dict[str, str] = {}
    server = receiver(args.listen, secret_holder) if args.listen else None
    with httpx.Client(base_url=args.base_url, timeout=10) as client:
        project_id = None
        if args.admin_key:
            print("0. Setting up")
            key, secret, code, project_id = set_up(client, args.admin_key, args.listen, secret_holder)
        elif args.key and args.secret and args.project_code:
            key, secret, code = args.key, args.secret, args.project_code
        else:
            parser.error("give --admin-key, or --key, --secret and --project-code")
        play(ApprovalSystem(client, key, secret), code)
        if args.admin_key and project_id:
            items = client.get(f"{API}/projects/{project_id}/approvals",
                               headers={"Authorization": f"Bearer {args.admin_key}"}).json()["items"]
            print(f"\n6. The project's approval items now (GET {API}/projects/{project_id}/approvals)")
            for i in items:
                print(f"  {i['kind']:<34} {i['status']:<10} submitted {i['submitted_on']} decided {i['decided_on']}"
                      f" due {i['due_on']} overdue={i['overdue']} within_limit={i['decided_within_limit']}")
    if server is not None:
        print("\nWaiting 5 seconds for webhooks…")
        time.sleep(5)
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
