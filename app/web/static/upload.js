// The upload card: the chosen files, the model and its options, the price against the balance, and
// submission. A file leaves the queue only once the service has accepted it; a refusal stays on its file.

import { $, announce, api, duration, el, plural, say } from "./api.js";
import { reveal, showSubmitted } from "./results.js";

const state = { models: [], presets: [], files: [], sending: false, balance: () => 0 };

export function configureUpload({ models, presets, balance }) {
  Object.assign(state, { models, presets, balance });
  renderChoices();
}

// `auto` (GET /v1/presets) has no model of its own: the service reads each image and picks one.
const AUTO = "auto";

function isAuto() {
  return $("model").value === AUTO;
}

function selectedModel() {
  return isAuto() ? null : state.models.find((m) => m.id === $("model").value) || state.models[0];
}

function selectedScale() {
  return Number(document.querySelector("input[name=scale]:checked").value);
}

// What `auto` may run at this scale: its presets' picks ("realcugan-se denoise 1": the model comes first).
function autoCandidates(scale) {
  const ids = new Set(state.presets.flatMap((preset) => (preset.picks || []).map((pick) => pick.split(" ")[0])));
  const fits = (model) => model.scales.includes(scale) && model.available !== false;
  const picked = state.models.filter((model) => ids.has(model.id) && fits(model));
  return picked.length ? picked : state.models.filter((model) => model.scales.includes(scale) && fits(model));
}

// Only what the chosen model has weights for at the chosen scale can be picked (GET /v1/models `options`).
function renderOptions() {
  const model = selectedModel();
  const oneX = isAuto() ? autoCandidates(1).length > 0 : Boolean(model?.scales?.includes(1));
  $("scale-1").hidden = !oneX;
  if (!oneX && selectedScale() === 1) document.querySelector("input[name=scale][value='2']").checked = true;
  $("auto-help").hidden = !isAuto();
  const at = (!isAuto() && model?.options?.find((o) => o.scale === selectedScale())) ||
    { plain: true, denoise: [], conservative: false };
  for (const option of $("denoise").options) {
    option.disabled = option.value === "" ? !at.plain : !at.denoise.includes(Number(option.value));
  }
  if ($("denoise").selectedOptions[0]?.disabled) {
    const first = [...$("denoise").options].find((o) => !o.disabled);
    $("denoise").value = first ? first.value : "";
  }
  $("denoise").disabled = at.denoise.length === 0;
  $("conservative").disabled = !at.conservative || $("denoise").value !== "";
  if ($("conservative").disabled) $("conservative").checked = false;
}

function priceOf(model, outputPixels) {
  const perCredit = model.credits.megapixels_per_credit * 1e6;
  return Math.max(model.credits.minimum, Math.ceil(outputPixels / perCredit));
}

// Credits (a range for `auto`, whose model depends on the image) and the expected seconds.
function quote(width, height) {
  const scale = selectedScale();
  const models = isAuto() ? autoCandidates(scale) : [selectedModel()].filter(Boolean);
  if (!models.length || !width) return null;
  const outputPixels = width * height * scale * scale;
  if (models.every((model) => outputPixels > model.max_output_pixels)) return { tooLarge: true };
  const credits = models.map((model) => priceOf(model, outputPixels));
  const seconds = models.map((model) => 1 + (outputPixels / 1e6) * (model.seconds_per_output_megapixel || 0));
  return { least: Math.min(...credits), most: Math.max(...credits), seconds: Math.max(...seconds) };
}

function credits(least, most) {
  return least === most ? plural(least, "credit") : `${least}–${most} credits`;
}

function queueItem(item) {
  const price = quote(item.width, item.height);
  const scale = selectedScale();
  let detail = "size read on upload";
  if (price?.tooLarge) detail = "too large at this scale";
  else if (price) {
    detail = `${item.width}×${item.height} → ${item.width * scale}×${item.height * scale}, ` +
      `${credits(price.least, price.most)}, ${price.least === price.most ? "" : "up to "}${duration(price.seconds)}`;
  }
  const remove = el("button", { type: "button", className: "link", textContent: "Remove", disabled: item.sending });
  remove.setAttribute("aria-label", `Remove ${item.file.name}`);
  remove.addEventListener("click", () => {
    state.files = state.files.filter((f) => f !== item);
    renderQueue();
    $("files").focus();
  });
  const li = el("li", { className: item.error ? "refused" : "" },
    el("span", { className: "name", textContent: item.file.name }), " ",
    el("span", { className: "muted", textContent: item.sending ? "sending…" : detail }), " ", remove);
  if (item.error) {
    const id = `refusal-${state.files.indexOf(item)}`;
    li.append(el("p", { className: "field-error", id, textContent: item.error }));
    remove.setAttribute("aria-describedby", id);
  }
  return { li, price };
}

function quoteText(total, unknown, balance) {
  const parts = [];
  if (total.most) parts.push(credits(total.least, total.most));
  if (unknown) parts.push("files priced on upload (this browser can't read their size)");
  let text = `Price: ${parts.join(" + ")}`;
  if (isAuto() && total.least !== total.most) text += " (Automatic picks the model for each image)";
  const after = total.least === total.most
    ? `${balance - total.least}`
    : `${balance - total.most}–${balance - total.least}`;
  text += `. Balance ${balance} → ${after}.`;
  if (balance < total.least) {
    text += ` Not enough credits: ${plural(total.least - balance, "more credit")} needed. Remove images, ` +
      "pick a smaller scale or a cheaper model, or buy credits.";
  }
  return text;
}

export function renderQueue() {
  renderOptions();
  const total = { least: 0, most: 0 };
  let unknown = false;
  const items = state.files.map((item) => {
    const { li, price } = queueItem(item);
    if (price && !price.tooLarge) {
      total.least += price.least;
      total.most += price.most;
    } else if (!price) unknown = true;
    return li;
  });
  $("queue").replaceChildren(...items);
  const balance = state.balance();
  // Not enough for even the cheapest outcome: the service would refuse, so the button says so first.
  const short = state.files.length > 0 && balance < total.least;
  $("quote").textContent = state.files.length ? quoteText(total, unknown, balance) : "";
  $("quote").classList.toggle("warn", short);
  $("start").disabled = state.files.length === 0 || short || state.sending;
  $("start").textContent = state.files.length > 1 ? `Upscale ${state.files.length} images` : "Upscale";
}

async function readSize(file) {
  const item = { file, width: 0, height: 0, error: "" };
  try {
    const bitmap = await createImageBitmap(file);
    item.width = bitmap.width;
    item.height = bitmap.height;
    bitmap.close();
  } catch {
    // Browsers can't decode every format (TIFF); the service checks the file and says what is wrong.
  }
  return item;
}

export async function addFiles(fileList) {
  // Copied now: the picker's list is emptied as soon as its input is reset, before the sizes are read.
  const files = [...fileList];
  state.files.push(...(await Promise.all(files.map(readSize))));
  renderQueue();
  announce(`${plural(state.files.length, "image")} ready to upscale.`);
}

function formFor(item) {
  const form = new FormData();
  form.append("file", item.file);
  form.append(isAuto() ? "preset" : "model", isAuto() ? AUTO : selectedModel().id);
  form.append("scale", String(selectedScale()));
  if ($("denoise").value !== "") form.append("denoise", $("denoise").value);
  if ($("conservative").checked) form.append("conservative", "true");
  if ($("format").value) form.append("output_format", $("format").value);
  return form;
}

// One upload at a time, in order; each accepted file becomes a result at the top of the list.
export async function submitQueue(onAccepted) {
  say(""); // the welcome or checkout note has been read by now
  state.sending = true;
  const batch = [...state.files];
  let refused = 0;
  for (const item of batch) {
    item.sending = true;
    item.error = "";
    renderQueue();
    try {
      const job = await api("/v1/jobs", { method: "POST", form: formFor(item) });
      state.files = state.files.filter((f) => f !== item);
      renderQueue(); // first: the queue shrinking above the results would move them after the scroll
      // Each new result goes on top of the list, and the list follows it: on a phone it is far below.
      reveal(showSubmitted(job, item.file));
      await onAccepted(job);
    } catch (error) {
      item.error = error.message;
      refused += 1;
    }
    item.sending = false;
  }
  state.sending = false;
  renderQueue();
  const accepted = batch.length - refused;
  announce(refused
    ? `${plural(accepted, "image")} sent; ${plural(refused, "image")} refused: see the messages in the list.`
    : `${plural(accepted, "image")} sent.`);
}

export function clearQueue() {
  state.files = [];
  renderQueue();
}

// --- presets and models ----------------------------------------------------------------------------

function renderChoices() {
  const auto = state.presets.find((preset) => preset.id === AUTO);
  const choices = state.models.map((m) => el("option", { value: m.id, textContent: m.name }));
  if (auto) choices.unshift(el("option", { value: AUTO, textContent: `${auto.name} (per image)` }));
  $("model").replaceChildren(...choices);
  $("auto-help").textContent = auto?.description || "";
  const radios = state.presets.map((preset, index) => {
    const input = el("input", { type: "radio", name: "preset", value: preset.model || AUTO, checked: index === 0 });
    input.addEventListener("change", () => { $("model").value = input.value; renderQueue(); });
    return el("label", {}, input, ` ${preset.name}`);
  });
  $("presets").replaceChildren(...radios);
  $("model").value = state.presets[0] ? state.presets[0].model || AUTO : state.models[0]?.id;
}

export function wireUpload(onAccepted) {
  $("files").addEventListener("change", (event) => {
    addFiles(event.target.files);
    event.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addFiles(event.dataTransfer.files);
  });
  $("model").addEventListener("change", () => {
    // A model picked by hand: the content preset that runs it (if any) stays checked, the others clear.
    for (const radio of document.querySelectorAll("input[name=preset]")) radio.checked = radio.value === $("model").value;
    renderQueue();
  });
  for (const radio of document.querySelectorAll("input[name=scale]")) radio.addEventListener("change", renderQueue);
  $("denoise").addEventListener("change", renderQueue);
  $("conservative").addEventListener("change", renderQueue);
  $("start").addEventListener("click", () => submitQueue(onAccepted));
}
