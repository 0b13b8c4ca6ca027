"""Networks: create, read, update, delete, reinitialize, export and import."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

import engine
from engine.presets import adapt

from .. import exports
from ..deps import ServicesDep
from ..errors import Invalid, NotFound, Unavailable
from ..files import check_id
from ..meta_schemas import Summary
from ..schemas import (
    NAME_DESCRIPTION,
    CheckedName,
    NetworkCreate,
    NetworkFile,
    NetworkPublic,
    NetworkReinit,
    NetworkUpdate,
)
from ..services.networks import NAME_MAX, check_network_name
from ..spec_schemas import SpecFile
from .paging import PageDep, listed
from .responses import attachment, errors

router = APIRouter(prefix="/networks", tags=["networks"])


def _id(network_id: str) -> str:
    try:
        return check_id(network_id)
    except ValueError:
        raise NotFound(f"no network with id {network_id[:50]!r}") from None


@router.post("", response_model=NetworkPublic, status_code=201, responses=errors(400, 413, 422))
def create_network(body: NetworkCreate, services: ServicesDep):
    """Build a network from a spec (or a preset) with seeded weights."""
    if (body.spec is None) == (body.preset is None):
        raise Invalid("give exactly one of 'spec' or 'preset'")
    spec = body.spec
    if body.preset is not None:
        if body.preset not in engine.PRESETS:
            raise Invalid(f"no preset {body.preset!r}; presets: {', '.join(engine.PRESETS)}")
        spec = adapt(engine.PRESETS[body.preset], body.input, body.num_classes)
    row = services.networks.create(spec, body.name or body.preset, body.seed)
    return services.networks.public(row)


@router.get("", response_model=list[NetworkPublic], responses={**listed(), **errors(422)})
def read_networks(services: ServicesDep, page: PageDep):
    """Every network, oldest first."""
    return page(services.networks.public_all())


@router.post("/import", response_model=NetworkPublic, status_code=201, responses=errors(400, 413, 422))
async def import_network(
    form: Annotated[NetworkFile, Form()],
    services: ServicesDep,
    name: Annotated[
        CheckedName | None, Query(description=NAME_DESCRIPTION, json_schema_extra={"maxLength": NAME_MAX})
    ] = None,
):
    """A network file saved by this playground (.npz: spec, weights) or a spec (.json) becomes a new network."""
    file = form.file
    data = await file.read()
    nets = services.networks
    if data[:2] == b"PK":
        if exports.is_pytorch_export(data):
            raise Invalid(
                "this is the PyTorch export (model.py and weights.npz), which loads in PyTorch; "
                "to bring a network back here, import its .npz export (or its .json spec)"
            )
        try:  # the spec is checked against this server's limits before anything is built
            net, _, meta = engine.load_checkpoint(data, check=lambda spec: nets.check_buildable(nets.check_spec(spec)))
        except engine.CheckpointError as e:
            raise Invalid(str(e)) from None
        if name is None and isinstance(meta.get("name"), str) and meta["name"].strip():
            try:  # the name it was exported under
                name = check_network_name(meta["name"][:NAME_MAX], "saved name")
            except ValueError:
                name = None
        return nets.public(nets.create_from(net, name or _named_after(file.filename)))
    try:
        spec = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Invalid("the file is neither a network .npz nor a spec .json") from None
    if not isinstance(spec, dict):
        raise Invalid(f"the spec .json must be an object with 'input' and 'layers', not a {type(spec).__name__}")
    if name is None and not (isinstance(spec.get("name"), str) and spec["name"].strip()):
        name = _named_after(file.filename)
    return services.networks.public(services.networks.create(spec, name))  # with the file's seed


def _named_after(filename: str | None) -> str:
    """An imported network without a name of its own is named after its file, without the extension;
    that name is checked like any other."""
    try:
        return check_network_name((PurePath(filename).stem if filename else "imported")[:NAME_MAX], "file's name")
    except ValueError as e:
        raise Invalid(f"{e}, or name the network with ?name=") from None


@router.get("/{network_id}", response_model=NetworkPublic, responses=errors(404))
def read_network(network_id: str, services: ServicesDep):
    """One network: its spec, seed and parameter count."""
    return services.networks.public(services.networks.get(_id(network_id)))


@router.patch("/{network_id}", response_model=NetworkPublic, responses=errors(400, 404, 409, 413, 422))
def update_network(network_id: str, body: NetworkUpdate, services: ServicesDep):
    """Rename a network, or change its spec (the weights are then initialized anew)."""
    return services.networks.public(services.networks.update(_id(network_id), body.name, body.spec))


@router.delete("/{network_id}", status_code=204, responses=errors(404, 409))
def delete_network(network_id: str, services: ServicesDep):
    """Delete a network, its weights and its runs."""
    services.networks.delete(_id(network_id))
    return Response(status_code=204)


@router.post("/{network_id}/reinit", response_model=NetworkPublic, responses=errors(400, 404, 409, 413, 422))
def reinit_network(network_id: str, body: NetworkReinit, services: ServicesDep):
    """Draw the weights again: another seed, and/or another initializer for every conv and linear layer."""
    return services.networks.public(services.networks.reinit(_id(network_id), body.seed, body.init))


@router.get("/{network_id}/summary", response_model=Summary, responses=errors(404))
def read_network_summary(network_id: str, services: ServicesDep):
    """The network's summary: shapes, parameters with formulas, multiply-adds, receptive fields."""
    return engine.summarize(services.networks.get(_id(network_id))["spec"])


EXPORTED = {
    200: {
        "description": "The file, as an attachment",
        "model": SpecFile,  # the json format
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/onnx": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/{network_id}/export", response_class=Response, responses={**EXPORTED, **errors(404, 409, 422, 501)})
def export_network(
    network_id: str,
    services: ServicesDep,
    format: Literal["npz", "json", "pytorch", "onnx"] = Query("npz"),
    dataset: str | None = Query(
        None,
        max_length=100,
        description=(
            "the dataset the network was trained on: an npz keeps its class names, mean and std (which "
            "cnn-playground predict reads), a pytorch or onnx model normalises its input with them and "
            "takes pixel values / 255; a json export is the spec alone"
        ),
    ),
):
    """Download the network: npz (spec and weights), json (the spec), pytorch (a .zip with model.py,
    weights.npz and network.json), onnx (opset 17, outputs probabilities and logits; needs the
    server's [onnx] extra, see /api/health); each keeps the network's name and seed."""
    row = services.networks.get(_id(network_id))
    if format in exports.missing_formats():
        raise Unavailable(
            f"this server cannot export {format}: install its extra on the server "
            f"with {exports.missing_formats()[format]}, then restart it"
        )
    if dataset is not None and format == "json":
        raise Invalid("a json export is the network's spec alone: leave dataset out, or export npz, pytorch or onnx")
    trained_on = services.datasets.trained_on(dataset, row["spec"]["input"]) if dataset is not None else None
    entry = services.networks.entry(row["id"])
    with entry.reading() as net:
        file = exports.export(net, row["name"], format, trained_on)
    return Response(file.data, media_type=file.media_type, headers=attachment(row["name"], file.suffix))
