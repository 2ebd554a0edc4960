"""HTML page of a site's dead letters: what ingestion refused, and why."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.auth.service import authorize_site
from lighthouse_os.telemetry import service
from lighthouse_os.web.deps import SessionDep
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 200


@router.get("/sites/{site}/deadletters", response_class=HTMLResponse)
def dead_letters(
    request: Request, site: str, principal: PrincipalDep, session: SessionDep, source: str = ""
) -> HTMLResponse:
    """The newest dead letters of the site, optionally of one source."""
    target = authorize_site(session, principal, site, "site.read")
    letters = service.list_dead_letters(
        session, site=target, source=source or None, limit=PAGE_SIZE
    )
    rows = [service.dead_letter_dict(d) for d in letters]
    context = {"site": target, "letters": rows, "source": source, "page_size": PAGE_SIZE}
    return render(request, "telemetry/deadletters.html", context)
