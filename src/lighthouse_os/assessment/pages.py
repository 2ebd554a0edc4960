"""HTML pages of assessments: history, the self-guided wizard with autosave, results, review,
comparison and the site's goal. Handlers parse, call one service and render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from lighthouse_os.assessment import evidence, goals, service, views
from lighthouse_os.assessment import page_context as ctx
from lighthouse_os.auth.deps import PrincipalDep
from lighthouse_os.errors import InvalidInput
from lighthouse_os.web.deps import SessionDep, SettingsDep
from lighthouse_os.web.templating import render

router = APIRouter(include_in_schema=False)
BASE = "/sites/{site_id}/assessments"
ONE = BASE + "/{assessment_id}"


async def _form(request: Request) -> FormData:
    return await request.form()  # cached by Starlette: the CSRF check has read it already


FormDep = Annotated[FormData, Depends(_form)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/assessments", response_class=HTMLResponse)
def overview(request: Request, principal: PrincipalDep, session: SessionDep) -> HTMLResponse:
    rows = views.portfolio(session, principal)
    return render(request, "assessment/overview.html", {"rows": rows})


@router.get(BASE, response_class=HTMLResponse)
def history_page(
    request: Request, site_id: int, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    found = views.history(session, principal, site_id)
    return render(request, "assessment/history.html", {"history": found})


@router.post(BASE)
def start(
    site_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    pack: Annotated[str, Form()] = "lighthouse-os",
) -> RedirectResponse:
    row = service.start_assessment(session, principal, site_id, pack)
    return _see_other(f"/sites/{site_id}/assessments/{row.id}/steps/first")


@router.get(BASE + "/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    site_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    a: int | None = None,
    b: int | None = None,
) -> HTMLResponse:
    found = views.history(session, principal, site_id)
    comparison = views.compare(session, principal, site_id, a, b) if a and b else None
    context = {"history": found, "comparison": comparison, "a": a, "b": b}
    return render(request, "assessment/compare.html", context)


@router.get("/sites/{site_id}/goal", response_class=HTMLResponse)
def goal_page(
    request: Request,
    site_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    pack: str = "lighthouse-os",
    next: str = "",
) -> HTMLResponse:
    site, pack_content, goal = goals.site_goal(session, principal, site_id, pack)
    context = ctx.goal_context(site, pack_content, goal, next)
    return render(request, "assessment/goal.html", context)


@router.post("/sites/{site_id}/goal", response_model=None)
def save_goal(
    request: Request, site_id: int, principal: PrincipalDep, session: SessionDep, form: FormDep
) -> Response:
    pack_id, spec, next_url = ctx.goal_from_form(form)
    try:
        goals.set_goal(session, principal, site_id, pack_id, spec)
    except InvalidInput as err:
        site, pack, _goal = goals.site_goal(session, principal, site_id, pack_id)
        context = ctx.goal_context(site, pack, spec, next_url, err.fields, form)
        return render(request, "assessment/goal.html", context, status_code=err.status)
    return _see_other(ctx.safe_next(next_url, f"/sites/{site_id}/assessments"))


@router.get(ONE, response_class=HTMLResponse)
def results_page(
    request: Request, site_id: int, assessment_id: int, principal: PrincipalDep, session: SessionDep
) -> HTMLResponse:
    view = views.assessment_view(session, principal, site_id, assessment_id)
    return render(request, "assessment/results.html", ctx.results_context(view))


@router.get(ONE + "/steps/{group_id}", response_class=HTMLResponse)
def step_page(
    request: Request,
    site_id: int,
    assessment_id: int,
    group_id: str,
    principal: PrincipalDep,
    session: SessionDep,
) -> HTMLResponse:
    view = views.assessment_view(session, principal, site_id, assessment_id)
    return render(request, "assessment/step.html", ctx.step_context(view, group_id))


@router.post(ONE + "/items/{item_id}", response_model=None)
def save_item(
    request: Request,
    site_id: int,
    assessment_id: int,
    item_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    form: FormDep,
) -> Response:
    """Autosave of one answer (HTMX on every change), or the plain form's Save button."""
    try:
        answer = ctx.answer_from_form(form)
        _row, rating = service.save_answer(
            session, principal, site_id, assessment_id, item_id, answer
        )
    except InvalidInput as err:
        return ctx.item_problem(request, session, principal, (site_id, assessment_id, item_id), err)
    return ctx.item_saved(request, (site_id, assessment_id, item_id), rating)


@router.post(ONE + "/items/{item_id}/files", response_model=None)
def upload_file(
    request: Request,
    site_id: int,
    assessment_id: int,
    item_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    file: UploadFile | None = None,
) -> Response:
    try:
        evidence.add_file(
            session, settings, principal, site_id, assessment_id, item_id,
            filename=file.filename or "" if file else "", stream=file.file if file else None,
        )  # fmt: skip
    except InvalidInput as err:
        return ctx.item_problem(request, session, principal, (site_id, assessment_id, item_id), err)
    return _see_other(ctx.item_url(site_id, assessment_id, item_id))


@router.get(ONE + "/files/{file_id}")
def download_file(
    site_id: int,
    assessment_id: int,
    file_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    row, path = evidence.open_file(session, settings, principal, site_id, assessment_id, file_id)
    # Served as an attachment and never sniffed, so an upload cannot run as a page of this site.
    headers = {"x-content-type-options": "nosniff"}
    return FileResponse(path, media_type=row.content_type, filename=row.filename, headers=headers)


@router.post(ONE + "/files/{file_id}/delete")
def delete_file(
    site_id: int,
    assessment_id: int,
    file_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    item_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    evidence.delete_file(session, settings, principal, site_id, assessment_id, file_id)
    return _see_other(ctx.item_url(site_id, assessment_id, item_id))


@router.post(ONE + "/submit", response_model=None)
def submit(
    request: Request, site_id: int, assessment_id: int, principal: PrincipalDep, session: SessionDep
) -> Response:
    try:
        service.submit_assessment(session, principal, site_id, assessment_id)
    except InvalidInput as err:
        view = views.assessment_view(session, principal, site_id, assessment_id)
        context = ctx.results_context(view, {"submit": ctx.SUBMIT_EMPTY})
        return render(request, "assessment/results.html", context, status_code=err.status)
    return _see_other(f"/sites/{site_id}/assessments/{assessment_id}")


@router.post(ONE + "/review", response_model=None)
def review(
    request: Request,
    site_id: int,
    assessment_id: int,
    principal: PrincipalDep,
    session: SessionDep,
    form: FormDep,
) -> Response:
    """Assessors: adjust one level with a comment, or agree with the rest and complete."""
    adjustments, complete, comment = ctx.review_from_form(form)
    try:
        service.review_assessment(
            session, principal, site_id, assessment_id, adjustments, complete=complete,
            comment=comment,
        )  # fmt: skip
    except InvalidInput as err:
        view = views.assessment_view(session, principal, site_id, assessment_id)
        context = ctx.results_context(view, ctx.review_errors(form, err))
        return render(request, "assessment/results.html", context, status_code=err.status)
    return _see_other(f"/sites/{site_id}/assessments/{assessment_id}#review")
