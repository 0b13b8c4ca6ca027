"""Looking inside a network: predictions, feature maps, weights, statistics, saliency, occlusion,
gradient checks, a unit's receptive field, a dropout layer at work, feature visualization and
adversarial examples."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from ..deps import ServicesDep
from ..errors import NotFound, TooLarge
from ..files import check_id
from ..inspect_requests import (
    ActivationsBody,
    AdversarialBody,
    BatchPredictBody,
    DropoutBody,
    FeatureVisualizationBody,
    GradcheckBody,
    ImageUpload,
    InputBody,
    OcclusionBody,
    ReceptiveFieldBody,
    SaliencyBody,
)
from ..inspect_schemas import (
    ActivationsOut,
    AdversarialOut,
    DropoutOut,
    FeatureVisualizationOut,
    GradcheckOut,
    LayerWeightsDetail,
    OcclusionOut,
    OverviewOut,
    PredictBatchOut,
    PredictOut,
    ReceptiveFieldOut,
    SaliencyOut,
    StatsOut,
    UnitWeights,
    WeightsList,
)
from ..services import dropout_view, receptive, visualize
from ..services import inspect as svc
from .responses import errors

router = APIRouter(prefix="/networks", tags=["inspect"])
INPUT_ERRORS = errors(400, 404, 409, 413, 422)


def _id(network_id: str) -> str:
    try:
        return check_id(network_id)
    except ValueError:
        raise NotFound(f"no network with id {network_id[:50]!r}") from None


@router.post(
    "/{network_id}/predict", response_model=PredictOut, response_model_exclude_unset=True, responses=INPUT_ERRORS
)
def predict(network_id: str, body: InputBody, services: ServicesDep):
    """Class probabilities for a dataset sample or for canvas pixels."""
    return svc.predict(services, _id(network_id), body)


@router.post(
    "/{network_id}/predict/batch",
    response_model=PredictBatchOut,
    response_model_exclude_unset=True,
    responses=INPUT_ERRORS,
)
def predict_batch(network_id: str, body: BatchPredictBody, services: ServicesDep):
    """Class probabilities for many dataset samples or canvases in one request, in their order."""
    return svc.predict_batch(services, _id(network_id), body.inputs)


@router.post(
    "/{network_id}/predict/image", response_model=PredictOut, response_model_exclude_unset=True, responses=INPUT_ERRORS
)
def predict_image(
    network_id: str,
    services: ServicesDep,
    form: Annotated[ImageUpload, Form()],
):
    """Class probabilities for an uploaded PNG or JPEG, converted and resized to the network's input."""
    limit = services.settings.max_upload_bytes
    data = form.file.file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the image is more than {limit:,} bytes")
    return svc.predict_image(services, _id(network_id), data, form.dataset)


@router.post(
    "/{network_id}/activations",
    response_model=ActivationsOut,
    response_model_exclude_unset=True,
    responses={
        200: {
            "description": "JSON; with ?format=png a PNG",
            "content": {"application/json": {}, "image/png": {"schema": {"type": "string", "format": "binary"}}},
        },
        **INPUT_ERRORS,
    },
)
def activations(
    network_id: str,
    body: ActivationsBody,
    services: ServicesDep,
    encoding: Literal["uint8", "float16"] = Query("uint8"),
    format: Literal["json", "png"] = Query("json"),
    layer: str | None = Query(None, min_length=1, max_length=200),
    scale: Literal["map", "layer"] = Query("map"),
):
    """Every layer's feature maps for one input (base64), or one layer's maps as a tiled PNG (?format=png&layer=)."""
    if format == "png":
        if layer is None:
            raise svc.bad("layer", "?format=png needs ?layer=<layer path>", loc="query")
        png = svc.activation_png(services, _id(network_id), body, layer, per_map=scale == "map")
        return Response(png, media_type="image/png")
    return svc.activations(services, _id(network_id), body, encoding)


@router.post(
    "/{network_id}/overview", response_model=OverviewOut, response_model_exclude_unset=True, responses=INPUT_ERRORS
)
def overview(network_id: str, body: InputBody, services: ServicesDep):
    """Every layer's output (float16), the class probabilities and whether the weights are trained,
    all from the same weights: what the page's overview of the network draws."""
    return svc.overview(services, _id(network_id), body)


@router.get(
    "/{network_id}/weights",
    response_model=WeightsList | UnitWeights | LayerWeightsDetail,
    response_model_exclude_unset=True,
    responses=errors(404, 409, 422),
)
def weights(
    network_id: str,
    services: ServicesDep,
    layer: str | None = Query(None, min_length=1, max_length=200),
    unit: int | None = Query(None, ge=0, lt=2**31, description="with layer: one conv filter or linear row"),
):
    """The layers having weights; with ?layer=, one layer's filters or weight statistics and last
    gradients; with ?layer=&unit=, the weights of one unit as numbers."""
    if unit is not None:
        if layer is None:
            raise svc.bad("layer", "?unit= needs ?layer=<a conv2d or linear layer>", loc="query")
        return svc.unit_weights(services, _id(network_id), layer, unit)
    return svc.weights(services, _id(network_id), layer)


@router.get(
    "/{network_id}/stats",
    response_model=StatsOut,
    response_model_exclude_unset=True,
    responses=errors(404, 409, 413, 422),
)
def stats(
    network_id: str,
    services: ServicesDep,
    dataset: str | None = Query(None, min_length=1, max_length=100),
    n: int = Query(64, ge=1, le=svc.MAX_STATS_N),
    train: bool = Query(False),
    split: Literal["train", "test"] = Query("train"),
    seed: int = Query(0, ge=0, lt=2**32),
):
    """Per-layer activation and gradient statistics with histograms, on dataset samples or random inputs."""
    return svc.stats(services, _id(network_id), dataset, n, train, split, seed)


@router.post(
    "/{network_id}/saliency", response_model=SaliencyOut, response_model_exclude_unset=True, responses=INPUT_ERRORS
)
def saliency(network_id: str, body: SaliencyBody, services: ServicesDep):
    """|d score / d input|, the largest over channels, as base64 uint8 and a PNG."""
    return svc.saliency(services, _id(network_id), body)


@router.post(
    "/{network_id}/occlusion", response_model=OcclusionOut, response_model_exclude_unset=True, responses=INPUT_ERRORS
)
def occlusion(network_id: str, body: OcclusionBody, services: ServicesDep):
    """How much the class probability drops when each patch of the input is covered."""
    return svc.occlusion(services, _id(network_id), body)


@router.post(
    "/{network_id}/gradcheck", response_model=GradcheckOut, response_model_exclude_unset=True, responses=INPUT_ERRORS
)
def gradcheck(network_id: str, body: GradcheckBody, services: ServicesDep):
    """Backward against central differences, per parameter tensor, on random inputs and labels."""
    return svc.gradcheck(services, _id(network_id), body.n, body.max_entries, body.train, body.seed)


@router.post(
    "/{network_id}/receptive-field",
    response_model=ReceptiveFieldOut,
    response_model_exclude_unset=True,
    responses=INPUT_ERRORS,
)
def receptive_field(network_id: str, body: ReceptiveFieldBody, services: ServicesDep):
    """One unit's receptive field on the input: the theoretical box (rows and columns inclusive,
    with the part in padding) and the effective field, |d unit / d input| summed over channels
    (float32, base64), with the smallest square holding 90% of it."""
    return receptive.receptive_field(services, _id(network_id), body)


@router.post(
    "/{network_id}/dropout", response_model=DropoutOut, response_model_exclude_unset=True, responses=INPUT_ERRORS
)
def dropout(network_id: str, body: DropoutBody, services: ServicesDep):
    """A dropout layer on one input: its input, its output in training (a mask drawn with the
    seed, survivors times 1/(1 - p)) and in evaluation, the mask and the fraction dropped."""
    return dropout_view.dropout(services, _id(network_id), body)


@router.post(
    "/{network_id}/feature-visualization",
    response_model=FeatureVisualizationOut,
    response_model_exclude_unset=True,
    responses=INPUT_ERRORS,
)
def feature_visualization(network_id: str, body: FeatureVisualizationBody, services: ServicesDep):
    """Images that make units of a layer answer strongly (gradient ascent on the input with
    jitter, blur and L2 decay), as PNGs and 0-255 floats, with each unit's value per step."""
    return visualize.feature_visualization(services, _id(network_id), body)


@router.post(
    "/{network_id}/adversarial",
    response_model=AdversarialOut,
    response_model_exclude_unset=True,
    responses=INPUT_ERRORS,
)
def adversarial(network_id: str, body: AdversarialBody, services: ServicesDep):
    """The fast gradient sign method: the input moved by epsilon against the prediction (or
    towards a target), its perturbation, and the prediction before and after."""
    return visualize.adversarial(services, _id(network_id), body)
