"""A pure-NumPy CNN engine: build networks from JSON specs, train, look inside.

import engine
net = engine.build_network(engine.PRESETS["lenet5"], seed=0)
y = net.forward(x)                # x : (N, 1, 28, 28)
dx = net.backward(dy)
engine.set_threads(2)             # share each step among 2 threads (see parallel.py)
"""

from . import fast, parallel
from .errors import CheckpointError, SpecError, SpecErrors
from .gradcheck import gradcheck
from .io import load, load_checkpoint, save
from .layers import REGISTRY, catalogue, walk_specs
from .losses import cross_entropy, mse
from .network import Network, Param, build_network
from .onnx_export import OnnxUnavailable, onnx_available, to_onnx
from .optim import OPTIMIZERS, SCHEDULES, make_optimizer, make_schedule
from .parallel import get_threads, set_threads
from .presets import PRESET_INFO, PRESETS
from .summary import format_table, summarize
from .torch_export import to_pytorch
from .visualize import ascend, fgsm, layers_to, loss_gradient, macs_to, perturb

__all__ = [
    "OPTIMIZERS",
    "PRESETS",
    "PRESET_INFO",
    "REGISTRY",
    "SCHEDULES",
    "CheckpointError",
    "Network",
    "OnnxUnavailable",
    "Param",
    "SpecError",
    "SpecErrors",
    "ascend",
    "build_network",
    "catalogue",
    "cross_entropy",
    "fast",
    "fgsm",
    "format_table",
    "get_threads",
    "gradcheck",
    "layers_to",
    "load",
    "load_checkpoint",
    "loss_gradient",
    "macs_to",
    "make_optimizer",
    "make_schedule",
    "mse",
    "onnx_available",
    "parallel",
    "perturb",
    "save",
    "set_threads",
    "summarize",
    "to_onnx",
    "to_pytorch",
    "walk_specs",
]
