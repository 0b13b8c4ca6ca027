"""The input normalisation an exported model applies itself: the training data's mean and std,
one number or one per channel, checked once for every export format."""

from __future__ import annotations

import numpy as np

from .network import Network


def _per_channel(net: Network, name: str, values) -> np.ndarray:
    """`values` (one number, or one per channel) as float32 of shape (1, C, 1, 1) for an image
    input (C, H, W), (1, 1) for a vector input: shaped to broadcast over the input, as
    to_pytorch's view does. Raises ValueError saying what is wrong."""
    image = len(net.input_shape) == 3
    channels = net.input_shape[0] if image else 1
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers, one per input channel; got {values!r}") from None
    if array.ndim > 1:
        raise ValueError(f"{name} must be one number or a flat list of numbers; got shape {array.shape}")
    if array.size not in (1, channels):
        fix = f"give {channels} values, one per channel, or one for all" if image else "give one value for all"
        raise ValueError(
            f"{name} has {array.size} values but the network's input {tuple(net.input_shape)} has "
            f"{channels if image else 'no'} channels: {fix}"
        )
    with np.errstate(over="ignore"):
        array = array.astype(np.float32)  # what the graph holds: a number too large for float32 is inf
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite numbers within float32's range; got {array.tolist()}")
    shape = (1, -1) + (1,) * (len(net.input_shape) - 1)
    return np.broadcast_to(array.reshape(-1), (channels,)).reshape(shape)


def input_normalization(net: Network, mean, std) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, std) broadcastable over the input, or None when neither is given: the training data's
    scaling an exported model applies to its input itself (to_pytorch, to_onnx). Raises ValueError
    saying what is wrong."""
    if mean is None and std is None:
        return None
    if mean is None or std is None:
        raise ValueError("give both mean and std (the training data's, per channel), or neither")
    mean, std = _per_channel(net, "mean", mean), _per_channel(net, "std", std)
    if not np.all(std > 0):
        raise ValueError(f"std must be positive (the input is divided by it); got {std.reshape(-1).tolist()}")
    return mean, std
