// What a layer computes, in a sentence for the student, with its own numbers.

import { fmt } from "../../ui.js";
import { isSpatial, layerName, mapCount } from "./layers.js";

const times = (pair) => pair.join("×");
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function whatItComputes(layer, before, j, snapshot) {
  const from = before ? layerName(before) : "";
  const read = isSpatial(layer) ? `map ${j + 1} of ${from}` : from;
  const win = layer.window;
  switch (layer.type) {
    case "input":
      return snapshot.normalization ? snapshot.normalization.text
        : "The image, as the network sees it.";
    case "conv2d": {
      const reads = mapCount(before) / (layer.groups || 1);
      return `Filter ${j + 1} holds ${plural(reads, "kernel")} of ${times(win.kernel)}, one for `
        + `each map of ${from} it reads. It slides over them ${plural(win.stride[0], "pixel")} `
        + `at a time (padding ${win.padding[0]}); at every position it multiplies each kernel `
        + "with the window beneath it, adds everything up and adds its bias: one value of this "
        + "map.";
    }
    case "relu":
      return `ReLU keeps the positive values of ${read} and turns the negative ones into 0: `
        + "max(0, x).";
    case "leaky_relu":
      return `Leaky ReLU of ${read}: positive values stay, negative ones are multiplied by a `
        + "small slope.";
    case "sigmoid":
    case "tanh":
      return `${layer.type} of each value of ${read}, squashed into a fixed range.`;
    case "maxpool2d":
      return `Each value is the largest in a ${times(win.kernel)} window of ${read}, the window `
        + `moving ${win.stride[0]} at a time: the map shrinks and keeps its strongest responses.`;
    case "avgpool2d":
      return `Each value is the mean of a ${times(win.kernel)} window of ${read}, the window `
        + `moving ${win.stride[0]} at a time: the map shrinks.`;
    case "global_avgpool2d":
      return `The mean of the whole of ${read}: one number per map.`;
    case "batchnorm2d":
    case "batchnorm1d":
      return `Batch normalization of ${read}: centred and scaled by the statistics seen in `
        + "training, then scaled and shifted by two learned numbers.";
    case "dropout":
      return `Dropout passes ${read} through unchanged here; only in training does it zero `
        + "values at random.";
    case "flatten": {
      const [c, h, w] = before.shape;
      return `Flatten lays the ${c} maps of ${from} end to end: ${c} × ${h} × ${w} = `
        + `${fmt.int(c * h * w)} values, map 1 first. The picture below wraps them into a square.`;
    }
    case "linear":
      return `Each of the ${fmt.int(layer.shape[0])} units multiplies every value of ${from} `
        + "by a weight of its own, adds them up and adds its bias. Click a cell to see the "
        + "weights of that unit.";
    case "softmax":
      return `Softmax turns the scores of ${from} into probabilities that add up to 1.`;
    case "residual":
      return "A residual block: its body's output plus its input (through the shortcut), so it "
        + "learns a change.";
    case "concat":
      return "An Inception-style block: the maps of its branches side by side.";
    default:
      return `${layer.type} of ${read}.`;
  }
}
