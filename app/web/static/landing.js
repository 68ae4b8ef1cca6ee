// The signed-out view: a real before/after made by this service's own model (app/web/make_sample.py), what
// credits buy at this service's prices (GET /v1/models, and the packs when billing is on), and sign-in.

import { $, el, plural } from "./api.js";
import { createViewer } from "./compare.js";
import { money } from "./account.js";

// A typical small photo (a phone's "medium" size); the table prices it at 2x and at 4x.
const EXAMPLE = { width: 1024, height: 768 };
const SAMPLE = { before: "/static/sample-before.webp", after: "/static/sample-after.webp", width: 480, height: 320 };

export function price(model, width, height, scale) {
  const megapixels = (width * height * scale * scale) / 1e6;
  return Math.max(model.credits.minimum, Math.ceil(megapixels / model.credits.megapixels_per_credit));
}

function priceRow(preset, model) {
  const cells = [2, 4].map((scale) => el("td", { className: "num",
    textContent: plural(price(model, EXAMPLE.width, EXAMPLE.height, scale), "credit") }));
  const { minimum, megapixels_per_credit: perCredit } = model.credits;
  const rule = `${model.name}: 1 credit per ${perCredit} MP of result, at least ${minimum}`;
  return el("tr", {}, el("th", { scope: "row" }, preset.name, el("span", { className: "rule", textContent: rule })),
    ...cells);
}

export function renderLanding({ models, presets, offers }) {
  if (!$("sample").firstChild) {
    $("sample").append(createViewer({ ...SAMPLE, name: "Sample photo of a cat" }));
  }
  const rows = presets.map((preset) => [preset, models.find((m) => m.id === preset.model)]).filter(([, m]) => m);
  $("price-rows").replaceChildren(...rows.map(([preset, model]) => priceRow(preset, model)));
  $("example-size").textContent = `${EXAMPLE.width}×${EXAMPLE.height}`;
  $("packs").hidden = !offers?.packs?.length;
  if (offers?.packs?.length) {
    $("packs").textContent = "Then buy credits as you go: " +
      offers.packs.map((p) => `${p.credits} for ${money(p.price)}`).join(", ") + ". They never expire.";
  }
}
