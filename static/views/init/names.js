// The lab's choices and their names for people, shared by its sections.

export const INITS = ["zeros", "normal", "xavier_uniform", "xavier_normal", "he_uniform",
  "he_normal", "lecun_normal"];
export const LABELS = {
  zeros: "zeros", normal: "normal (std 1)", xavier_uniform: "Xavier uniform",
  xavier_normal: "Xavier normal", he_uniform: "He uniform", he_normal: "He normal",
  lecun_normal: "LeCun normal",
};
export const ACTIVATIONS = [["tanh", "tanh"], ["relu", "ReLU"], ["sigmoid", "sigmoid"]];

// "15 × (linear + sigmoid)": what a stack is, in one line.
export const stackTitle = (s, activation) =>
  `${s.depth} × (${s.kind === "conv2d" ? "conv2d" : "linear"} + ${activation})`;
