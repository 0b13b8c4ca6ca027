// What a finished run's diagnosis (engine/diagnosis.py) is called beside its status, by kind:
// "completed, but its loss grew". The full sentence is the run's message.
const SHORT = {
  loss_grew: "its loss grew: the learning rate is too high",
  too_few_examples: "too few validation examples to judge it",
  collapsed: "collapsed to one class",
  not_learning: "it did not learn",
};

export function diagnosisShort(d) {
  return SHORT[d.kind] || d.kind;
}
