"""The catalogue of layers, the presets, spec validation and health."""

from __future__ import annotations

import copy

from fastapi import APIRouter

import engine
from engine.presets import DEFAULT_FOR_DATASET, adapt

from .. import __version__, exports
from ..deps import ServicesDep
from ..errors import Invalid, NotFound
from ..meta_schemas import Invalidated, LayerType, Preset, Presets, Validated
from ..schemas import Health
from ..spec_schemas import Spec
from .paging import PageDep, listed
from .responses import errors

router = APIRouter(tags=["meta"])


def fmt_shape(shape) -> str:
    return "x".join(map(str, shape))


@router.get("/health", response_model=Health)
def read_health(services: ServicesDep):
    """Whether the server is up, how many runs are active, and which export formats it can write."""
    missing = exports.missing_formats()
    return {
        "status": "ok",
        "version": __version__,
        "runs_active": services.runs.count_active(),
        "export_formats": [f for f in exports.FORMATS if f not in missing],
        "missing_exports": missing,
    }


@router.get(
    "/layers",
    response_model=list[LayerType],
    response_model_exclude_unset=True,
    responses={**listed(), **errors(422)},
)
def read_layers(page: PageDep):
    """Every layer type with its fields, types, defaults and ranges (the page builds its forms from it)."""
    return page(engine.catalogue())


@router.get("/presets", response_model=Presets)
def read_presets():
    """Preset names with their title, description, note (how a famous one differs from its paper and
    the lecture), input shape and parameter count."""
    out = []
    for name, spec in engine.PRESETS.items():
        info = engine.PRESET_INFO.get(name, {})
        out.append(
            {
                "name": name,
                "title": info.get("title", name),
                "description": info.get("description", ""),
                "note": info.get("note"),
                "dataset": info.get("input"),
                "trainable_on_cpu": info.get("trainable_on_cpu", True),
                "year": info.get("year"),
                "input": spec["input"],
                "params": engine.summarize(spec)["totals"]["params"],
            }
        )
    return {"presets": out, "default_for_dataset": DEFAULT_FOR_DATASET}


@router.get("/presets/{name}", response_model=Preset, response_model_exclude_unset=True, responses=errors(404, 422))
def read_preset(name: str, services: ServicesDep, dataset: str | None = None):
    """One preset's spec, with its summary; with ?dataset= made to fit that dataset (its input
    takes the dataset's images and its last linear layer has one output per class)."""
    if name not in engine.PRESETS:
        raise NotFound(f"no preset {name!r}; presets: {', '.join(engine.PRESETS)}")
    spec = copy.deepcopy(engine.PRESETS[name])
    ds = None
    if dataset is not None:
        ds = services.datasets.get(dataset)  # its listing: nothing is loaded or downloaded
        spec = adapt(spec, ds["shape"], ds["num_classes"])
        try:
            summary = engine.summarize(spec)
        except engine.SpecErrors as e:
            first = e.errors[0]
            raise Invalid(
                f"{name} cannot take the {fmt_shape(ds['shape'])} images of {ds['name']}: {first.path}: {first.message}"
            ) from None
    else:
        summary = engine.summarize(spec)
    return {
        "name": name,
        **engine.PRESET_INFO.get(name, {}),
        "spec": spec,
        "summary": summary,
        "adapted_to": ds["name"] if ds else None,
    }


@router.post(
    "/networks/validate",
    response_model=Validated | Invalidated,
    response_model_exclude_unset=True,
    responses=errors(400, 413, 422),
)
def validate_network(spec: Spec, services: ServicesDep, report: bool = False):
    """A spec to its summary with warnings (nothing is allocated), or 422 with errors by layer path.

    With ?report=true a spec that cannot work is answered 200 with {"valid": false, "errors": [...]}:
    the page validates while the student types, and a half-typed spec is not a failed request.
    """
    try:
        summary = services.networks.check_spec(spec)
    except Invalid as e:
        if report:
            return {"valid": False, "errors": e.detail}
        raise
    summary["valid"] = True
    t = summary["totals"]
    summary["buildable"] = t["params"] <= services.settings.max_params
    if not summary["buildable"]:
        summary["why_not_buildable"] = (
            f"{t['params']:,} parameters is over this server's limit of "
            f"{services.settings.max_params:,}: it can be studied here but not trained"
        )
    return summary
