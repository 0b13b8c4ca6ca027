"""One convolution worked through by hand: forward cell by cell, backward as convolutions, pooling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ..services import conv_explain
from .responses import errors

router = APIRouter(prefix="/conv", tags=["conv"])

N = conv_explain.MAX_SIZE
Number = Annotated[float, Field(allow_inf_nan=False)]
Row = Annotated[list[Number], Field(min_length=1, max_length=N)]
Matrix = Annotated[list[Row], Field(min_length=1, max_length=N)]


class ConvExplainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Matrix = Field(description=f"the input (H, W), at most {N}x{N}")
    w: Matrix = Field(description="the kernel (kh, kw)")
    stride: int = Field(1, ge=1, le=N)
    padding: int = Field(0, ge=0, le=conv_explain.MAX_PADDING)
    dilation: int = Field(1, ge=1, le=N, description="spacing d between the kernel's taps")
    delta: Matrix | None = Field(None, description="dL/d(output), shaped like the output; default all ones")


@router.post("/explain", responses=errors(400, 413, 422))
def explain(body: ConvExplainBody):
    """The convolution of x by w: each window's products and sum, dW and dX (also as convolutions), pooling."""
    return conv_explain.explain(body.x, body.w, body.stride, body.padding, body.delta,
                                body.dilation)
