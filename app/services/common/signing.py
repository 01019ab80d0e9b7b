"""HMAC-SHA256 request signatures, the same both ways (events in, webhooks out).

    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

The timestamp is signed with the body, so a captured request cannot be replayed once
it is more than the tolerance (5 minutes) old. Several ``v1=`` values may be given (a
sender rotating its secret); one must match. Comparison is constant-time.
"""

import hashlib
import hmac

from app.errors import Unauthorized

HEADER = "X-Signature"
SCHEME = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC of ``"<timestamp>." + body``."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def parse(value: str) -> tuple[int, list[str]]:
    """``t=...,v1=...`` to (timestamp, signatures); ``ValueError`` if malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if not sep:
            raise ValueError(f"{part!r} is not name=value")
        if name == "t":
            if timestamp is not None or not item.isdigit() or len(item) > 12:
                raise ValueError("t must be one unix timestamp in seconds")
            timestamp = int(item)
        elif name == SCHEME:
            signatures.append(item)
    if timestamp is None or not signatures:
        raise ValueError(f"expected t=<unix seconds>,{SCHEME}=<hex>")
    return timestamp, signatures


def _refused(detail: str, code: str) -> Unauthorized:
    return Unauthorized(detail, code=code, headers={"WWW-Authenticate": f'Signature header="{HEADER}"'})


def verify(secret: str, value: str | None, body: bytes, *, now: float, tolerance: int) -> None:
    """Raise 401 unless ``value`` is a fresh, valid signature of ``body`` under ``secret``."""
    if not value:
        raise _refused(f"The request must be signed: {HEADER}: t=<unix>,{SCHEME}=<hex>.", "signature_required")
    try:
        timestamp, given = parse(value)
    except ValueError as exc:
        raise _refused(f"Malformed {HEADER} header: {exc}.", "signature_malformed") from exc
    if abs(now - timestamp) > tolerance:
        raise _refused(f"The signature's timestamp is more than {tolerance} seconds from the server's clock.",
                       "signature_expired")
    expected = signature(secret, timestamp, body).encode()
    # Every candidate is compared (no early exit), each in constant time.
    matched = False
    for candidate in given:
        matched |= hmac.compare_digest(expected, candidate.encode("ascii", "replace"))
    if not matched:
        raise _refused("The signature does not match the body.", "signature_mismatch")
