"""The Initialization lab: a deep stack measured at step 0 (with or without residual blocks and
batch norm), and the stack trained on digits with and without batch norm."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import ServicesDep
from ..init_schemas import PairRuns, PairTraining, StackMeasure, StackStats
from ..services import init_lab as svc
from .responses import errors

router = APIRouter(prefix="/init", tags=["initialization"])


@router.post("/stack", response_model=StackStats, responses=errors(400, 413, 422))
def measure_stack(body: StackMeasure, services: ServicesDep):
    """Per layer of a deep stack at step 0: the std of its activations and of its gradients."""
    return svc.measure(services, body.stack(residual=body.residual, batchnorm=body.batchnorm), body.n, body.seed)


@router.post(
    "/batchnorm/runs",
    response_model=PairRuns,
    status_code=201,
    responses=errors(400, 409, 413, 422, 429),
)
def train_with_and_without_batchnorm(body: PairTraining, services: ServicesDep):
    """Train the stack on strokes twice, without and with batch norm: two networks, two runs."""
    return svc.train_pair(services, body.stack(), body.lr, body.seed, epochs=body.epochs, examples=body.examples)
