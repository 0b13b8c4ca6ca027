"""The playground page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ..resources import page_files

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=page_files("templates"))


@router.get("/", response_class=HTMLResponse)
def read_page(request: Request):
    response = templates.TemplateResponse(request, "index.html", {})
    # only this server's own pages may frame it (the Learn view's widgets do); no other site
    response.headers["Content-Security-Policy"] = "frame-ancestors 'self'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    token = request.query_params.get("token")
    settings = request.app.state.services.settings
    if settings.token and token == settings.token:
        # the page's own requests then carry the token without putting it in every URL
        response.set_cookie("cnn_playground_token", token, httponly=True, samesite="strict")
    return response
