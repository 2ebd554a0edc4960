"""Liveness and readiness probes for operators and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request

from lighthouse_os import __version__
from lighthouse_os.db.engine import is_reachable
from lighthouse_os.web.responses import JSONBytes

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(request: Request) -> JSONBytes:
    """The relational database answers; 503 otherwise so a load balancer holds traffic."""
    ready = is_reachable(request.app.state.engine)
    body = {"status": "ready" if ready else "unavailable", "database": ready}
    return JSONBytes(body, status_code=200 if ready else 503)
