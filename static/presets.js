// A preset as the page uses it: when it was made for the chosen dataset's images, the
// server's copy made to fit that dataset (one output per class: shapes has 8, not 10).

export async function presetFor(api, name, dataset) {
  const preset = await api.preset(name);
  return preset.input === dataset ? api.preset(name, dataset) : preset;
}
