// The signed-out view: a real before/after made by this service's own model (app/web/make_sample.py), what
// credits buy at this service's prices (GET /v1/models, and the packs when billing is on), and sign-in.

import { $, el, plural, priceOfStages, stagesOf } from "./api.js";
import { createViewer } from "./compare.js";
import { money } from "./account.js";

// A typical small photo (a phone's "medium" size); the table prices it at 2x and at 4x.
const EXAMPLE = { width: 1024, height: 768 };
const SAMPLE = { before: "/static/sample-before.webp", after: "/static/sample-after.webp", width: 480, height: 320 };

// What a preset runs on a clean photo at its default detail (GET /v1/presets words each pick
// "waifu2x-cunet denoise 1 at 1x, then realsr-df2k"): both ends, the detailed one over the faithful one's
// colour and shading.
function cleanStages(preset, models) {
  const faithful = stagesOf(preset.picks[0], models);
  if (!preset.detail_picks?.length) return faithful;
  return [...faithful, ...stagesOf(preset.detail_picks[0], models)];
}

function priceRow(preset, stages) {
  const cells = [2, 4].map((scale) => el("td", { className: "num",
    textContent: plural(priceOfStages(stages, EXAMPLE.width, EXAMPLE.height, scale), "credit") }));
  const rule = stages.map(({ model }) =>
    `${model.name}: 1 credit per ${model.credits.megapixels_per_credit} MP of result, at least ${model.credits.minimum}`)
    .join(" + ");
  return el("tr", {}, el("th", { scope: "row" }, preset.name, el("span", { className: "rule", textContent: rule })),
    ...cells);
}

export function renderLanding({ models, presets, offers }) {
  if (!$("sample").firstChild) {
    $("sample").append(createViewer({ ...SAMPLE, name: "Sample photo of a cat" }));
  }
  const rows = presets.filter((preset) => preset.picks?.length).map((preset) => [preset, cleanStages(preset, models)])
    .filter(([, stages]) => stages.every(({ model }) => model));
  $("price-rows").replaceChildren(...rows.map(([preset, stages]) => priceRow(preset, stages)));
  $("example-size").textContent = `${EXAMPLE.width}×${EXAMPLE.height}`;
  $("packs").hidden = !offers?.packs?.length;
  if (offers?.packs?.length) {
    $("packs").textContent = "Then buy credits as you go: " +
      offers.packs.map((p) => `${p.credits} for ${money(p.price)}`).join(", ") + ". They never expire.";
  }
}
