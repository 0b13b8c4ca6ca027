// Lists the presets with their parameter counts, from the API.
const body = document.querySelector("[data-presets] tbody");

async function listPresets() {
  const response = await fetch("/api/presets");
  const { presets } = await response.json();
  for (const p of presets) {
    const row = document.createElement("tr");
    const cells = [p.name, p.title, p.input.join("x"), p.params.toLocaleString("en-US")];
    cells.forEach((text, i) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (i === 3) cell.className = "number";
      row.append(cell);
    });
    body.append(row);
  }
}

listPresets();
