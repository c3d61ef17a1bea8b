"""The front-end's route: the test page; routes only, given their parts by `deps`."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from front_end.deps import PageDep

router = APIRouter(tags=["page"])


@router.get("/", response_class=HTMLResponse)
async def page(request: Request, page: PageDep) -> HTMLResponse:
    """The test page; `BROKER_URL`, `TRACE_UI_URL` and `LAB_URL` are injected (escaped) for
    its scripts."""
    # A copy: the response adds this request to the context it is given.
    values = dict(page.values)
    return page.templates.TemplateResponse(request, "index.html", values, headers=page.headers)
