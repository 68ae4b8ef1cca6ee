// The upload card: the chosen files, the model and its options, the price against the balance, and
// submission. A file leaves the queue only once the service has accepted it; a refusal stays on its file.
// Images are priced here from GET /v1/models; a clip's frames are only known to the service, which prices
// it with POST /v1/jobs/quote (nothing charged) whenever the options change.

import { $, announce, api, duration, el, fieldError, plural, priceOfStages, say, stagesOf } from "./api.js";
import { reveal, showSubmitted } from "./results.js";
import { FORMATS_IN_WORDS, clipPreview, isRefusedType, isVideo } from "./video.js";

const state = { models: [], presets: [], files: [], sending: false, balance: () => 0 };

export function configureUpload({ models, presets, balance }) {
  Object.assign(state, { models, presets, balance });
  renderChoices();
}

// `auto` (GET /v1/presets) has no model of its own: the service reads each image and picks one.
const AUTO = "auto";
// One select chooses what runs: Automatic, a content preset (its value prefixed, as a model may share a
// preset's id) or a model. The request names a preset (`preset=`) or a model (`model=`) accordingly.
const PRESET = "preset:";
// Made for video, light and steady (GET /v1/models `video.stable`): what a clip gets instead of a model
// that flickers.
const VIDEO_MODEL = "realesr-animevideov3";

function isAuto() {
  return $("model").value === AUTO;
}

function selectedPreset() {
  const value = $("model").value;
  return value.startsWith(PRESET) ? state.presets.find((p) => p.id === value.slice(PRESET.length)) : null;
}

// A preset's pick for the damage the Denoise hint names (app/catalog/presets.py `level_of_hint`): its
// picks read "realcugan-se denoise 1", the model first.
function presetModelId(preset) {
  const hint = $("denoise").value;
  const level = hint === "" ? 0 : Math.min(Number(hint) + 1, 3);
  const pick = preset.picks?.[level] || preset.picks?.[0];
  return pick ? pick.split(" ")[0] : preset.model;
}

function selectedModel() {
  if (isAuto()) return null;
  const preset = selectedPreset();
  const id = preset ? presetModelId(preset) : $("model").value;
  return state.models.find((m) => m.id === id) || state.models[0];
}

// The Detail slider (0 faithful - 100 detailed) applies to a preset with a detail control, and to
// Automatic (on photos); untouched, the service's default for the preset is sent as nothing.
let detailTouched = false;

function detailPreset() {
  if (isAuto()) return state.presets.find((p) => p.id === AUTO);
  const preset = selectedPreset();
  return preset?.default_detail != null ? preset : null;
}

function detailValue(preset) {
  return detailTouched ? Number($("detail").value) : preset?.default_detail ?? 0;
}

function renderDetail() {
  const preset = detailPreset();
  $("detail-field").hidden = !preset;
  if (!preset) return;
  if (!detailTouched) $("detail").value = String(preset.default_detail ?? 0);
  $("detail-value").textContent = $("detail").value;
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
  renderDetail();
  // On a preset, Denoise is a hint of the damage (every level, none for a clean image); the preset picks
  // the variant, so conservative is its own to choose.
  const hint = { plain: true, denoise: [0, 1, 2, 3], conservative: false };
  const at = (selectedPreset() && hint) || (!isAuto() && model?.options?.find((o) => o.scale === selectedScale())) ||
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

// What a preset may run for this image: by damage level (the hint's, or any: the service reads it), its
// faithful end alone or both ends (the detailed one over the faithful one's colour and shading, detail 100
// included).
function presetRecipes(preset) {
  const hint = $("denoise").value;
  const levels = hint === "" ? [0, 1, 2, 3] : [Math.min(Number(hint) + 1, 3)];
  const detail = detailValue(preset);
  return levels.flatMap((level) => {
    const faithful = stagesOf(preset.picks[level] || preset.picks[0], state.models);
    const detailed = preset.detail_picks?.length ? stagesOf(preset.detail_picks[level], state.models) : null;
    if (!detailed) return [faithful];
    return [faithful, [...faithful, ...detailed]];
  });
}

function recipes() {
  if (isAuto()) {
    const fromPresets = state.presets.filter((p) => p.picks?.length).flatMap(presetRecipes);
    const fits = fromPresets.filter((r) => r.every((stage) => stage.model?.scales.includes(stage.oneX ? 1 : selectedScale())));
    return fits.length ? fits : autoCandidates(selectedScale()).map((model) => [{ model, oneX: false }]);
  }
  const preset = selectedPreset();
  if (preset) return presetRecipes(preset);
  const model = selectedModel();
  return model ? [[{ model, oneX: false }]] : [];
}

// Credits (a range where the recipe depends on the image: `auto`, a preset reading the damage) and the
// expected seconds; a recipe costs its stages' prices summed, a 1x clean-up at the input's size.
function quote(width, height) {
  const scale = selectedScale();
  const found = recipes().filter((recipe) => recipe.every((stage) => stage.model));
  if (!found.length || !width) return null;
  const outputPixels = width * height * scale * scale;
  const pixelsOf = (stage) => (stage.oneX ? width * height : outputPixels);
  if (found.every((recipe) => recipe.some((stage) => pixelsOf(stage) > stage.model.max_output_pixels))) {
    return { tooLarge: true };
  }
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const credits = found.map((recipe) => priceOfStages(recipe, width, height, scale));
  const seconds = found.map((recipe) =>
    1 + sum(recipe.map((stage) => (pixelsOf(stage) / 1e6) * (stage.model.seconds_per_output_megapixel || 0))));
  return { least: Math.min(...credits), most: Math.max(...credits), seconds: Math.max(...seconds) };
}

function credits(least, most) {
  return least === most ? plural(least, "credit") : `${least}–${most} credits`;
}

function imageDetail(item) {
  const price = quote(item.width, item.height);
  const scale = selectedScale();
  let detail = "size read on upload";
  if (price?.tooLarge) detail = "too large at this scale";
  else if (price) {
    detail = `${item.width}×${item.height} → ${item.width * scale}×${item.height * scale}, ` +
      `${credits(price.least, price.most)}, ${price.least === price.most ? "" : "up to "}${duration(price.seconds)}`;
  }
  return { detail, price };
}

// A clip as the service quoted it: sizes, frames, the result's format, credits and time.
function clipDetail(item) {
  const q = item.quote;
  if (!q) return { detail: item.quoteError ? "not priced" : "pricing…", price: null };
  const picked = isAuto() || selectedPreset() ? ` with ${state.models.find((m) => m.id === q.model)?.name || q.model}` : "";
  const detail = `${q.input.width}×${q.input.height} → ${q.output.width}×${q.output.height}, ` +
    `${plural(q.video.frames, "frame")} (${q.video.duration_seconds.toFixed(1)} s) as ${q.output.format.toUpperCase()}` +
    `${picked}, ${plural(q.credits, "credit")}, ${duration(q.estimated_seconds)}`;
  return { detail, price: { least: q.credits, most: q.credits, seconds: q.estimated_seconds } };
}

function forget(item) {
  item.quoteAbort?.abort();
  if (item.preview) URL.revokeObjectURL(item.preview);
  state.files = state.files.filter((f) => f !== item);
}

function queueItem(item) {
  const { detail, price } = item.video ? clipDetail(item) : imageDetail(item);
  const remove = el("button", { type: "button", className: "link", textContent: "Remove", disabled: item.sending });
  remove.setAttribute("aria-label", `Remove ${item.file.name}`);
  remove.addEventListener("click", () => {
    forget(item);
    renderQueue();
    $("files").focus();
  });
  const li = el("li", { className: item.error ? "refused" : "" },
    el("span", { className: "name", textContent: item.file.name }), " ",
    el("span", { className: "muted", textContent: item.sending ? "sending…" : detail }), " ", remove);
  const error = item.error || item.quoteError;
  if (error) {
    const id = `refusal-${state.files.indexOf(item)}`;
    li.append(el("p", { className: "field-error", id, textContent: error }));
    remove.setAttribute("aria-describedby", id);
  }
  if (item.video) li.append(item.previewBox);
  return { li, price };
}

function quoteText(total, unknown, balance) {
  const parts = [];
  if (total.most) parts.push(credits(total.least, total.most));
  if (unknown) parts.push("files priced on upload (this browser can't read their size)");
  let text = `Price: ${parts.join(" + ")}`;
  const range = total.least !== total.most;
  if (isAuto() && range) text += " (Automatic picks the model for each image)";
  else if (selectedPreset() && range) text += " (the preset reads each image's damage)";
  if (balance >= total.most) {
    const after = range ? `${balance - total.most}–${balance - total.least}` : `${balance - total.least}`;
    return `${text}. Balance ${balance} → ${after}.`;
  }
  // The service refuses a job it cannot be sure is paid for: a range that may exceed the balance is short.
  text += balance < total.least
    ? `. Not enough credits: ${plural(total.least - balance, "more credit")} needed.`
    : `. That may be more than your balance of ${balance}: up to ${plural(total.most - balance, "more credit")} needed.`;
  return `${text} Remove images, pick a smaller scale or a cheaper model${range ? " (an exact price)" : ""}, ` +
    "or buy credits.";
}

// "image", "video" or "file" (a mixed queue), for the button and the announcements.
function noun(items) {
  const videos = items.filter((item) => item.video).length;
  return videos === 0 ? "image" : videos === items.length ? "video" : "file";
}

// With a clip queued: its own result formats, and the models that flicker on video said so.
function renderVideoChoices() {
  const videos = state.files.some((item) => item.video);
  $("format-field").hidden = videos && state.files.every((item) => item.video);
  $("video-format-field").hidden = !videos;
  $("video-help").hidden = !videos;
  for (const option of $("model").options) {
    const model = state.models.find((m) => m.id === option.value);
    if (model) option.textContent = videos && model.video?.stable === false ? `${model.name} (flickers on video)` : model.name;
  }
}

export function renderQueue() {
  renderOptions();
  renderVideoChoices();
  const total = { least: 0, most: 0 };
  let unknown = false;
  let pricing = 0;
  const items = state.files.map((item) => {
    if (item.video && item.quoteKey !== optionsKey(item)) requestQuote(item);
    const { li, price } = queueItem(item);
    if (price && !price.tooLarge) {
      total.least += price.least;
      total.most += price.most;
    } else if (item.video && !item.quoteError) pricing += 1;
    else if (!price && !item.video) unknown = true;
    return li;
  });
  $("queue").replaceChildren(...items);
  const balance = state.balance();
  // Not enough for the dearest outcome: the job may not be paid for, so the button says so first.
  const short = state.files.length > 0 && balance < total.most;
  let text = state.files.length ? quoteText(total, unknown, balance) : "";
  if (pricing) text = `Pricing ${plural(pricing, "clip")}…`;
  $("quote").textContent = text;
  $("quote").classList.toggle("warn", short && !pricing);
  $("start").disabled = state.files.length === 0 || short || state.sending || pricing > 0;
  $("start").textContent = state.files.length > 1 ? `Upscale ${state.files.length} ${noun(state.files)}s` : "Upscale";
}

function optionsKey(item) {
  return JSON.stringify([...formFor(item).entries()].filter(([name]) => name !== "file"));
}

// The service's price for this clip with the options as they are now; an older request is aborted (the
// clip is not sent and read twice) and its answer dropped.
async function requestQuote(item) {
  const key = optionsKey(item);
  item.quoteAbort?.abort();
  const quoteAbort = new AbortController();
  Object.assign(item, { quoteKey: key, quote: null, quoteError: "", quoteAbort });
  try {
    const answer = await api("/v1/jobs/quote", { method: "POST", form: formFor(item), signal: quoteAbort.signal });
    if (item.quoteKey === key) item.quote = answer;
  } catch (error) {
    if (item.quoteKey === key) item.quoteError = error.message;
  }
  if (item.quoteKey === key && state.files.includes(item)) renderQueue();
}

async function readSize(file) {
  const item = { file, width: 0, height: 0, error: "", video: isVideo(file) };
  if (item.video) {
    item.preview = URL.createObjectURL(file);
    item.previewBox = clipPreview(item.preview, file.name);
    return item;
  }
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

// A clip is better off with a model that is steady on video: one that flickers gives way to VIDEO_MODEL.
function preferSteadyModel() {
  const model = selectedModel();
  if (!model || model.video?.stable !== false) return "";
  const usable = (m) => m.available !== false && m.video?.stable === true;
  const steady = state.models.find((m) => m.id === VIDEO_MODEL && usable(m)) || state.models.find(usable);
  if (!steady) return "";
  $("model").value = steady.id;
  renderPresetHelp();
  return ` ${model.name} flickers on video, so ${steady.name} is chosen.`;
}

export async function addFiles(fileList) {
  // Copied now: the picker's list is emptied as soon as its input is reset, before the sizes are read.
  const files = [...fileList];
  const refused = files.filter(isRefusedType);
  fieldError($("files"), $("drop-error"), refused.length
    ? `Not sent: ${refused.map((file) => file.name).join(", ")}. This service takes ${FORMATS_IN_WORDS}.`
    : "");
  const added = await Promise.all(files.filter((file) => !isRefusedType(file)).map(readSize));
  if (!added.length) return;
  state.files.push(...added);
  const switched = added.some((item) => item.video) ? preferSteadyModel() : "";
  renderQueue();
  announce(`${plural(state.files.length, noun(state.files))} ready to upscale.${switched}`);
}

function formFor(item) {
  const form = new FormData();
  form.append("file", item.file);
  const preset = isAuto() ? AUTO : selectedPreset()?.id;
  form.append(preset ? "preset" : "model", preset || selectedModel().id);
  form.append("scale", String(selectedScale()));
  if ($("denoise").value !== "") form.append("denoise", $("denoise").value);
  if ($("conservative").checked) form.append("conservative", "true");
  if (detailPreset() && detailTouched) form.append("detail", $("detail").value);
  const format = item.video ? $("video-format").value : $("format").value;
  if (format) form.append("output_format", format);
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
      forget(item);
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
  const word = noun(batch);
  announce(refused
    ? `${plural(accepted, word)} sent; ${plural(refused, word)} refused: see the messages in the list.`
    : `${plural(accepted, word)} sent.`);
}

export function clearQueue() {
  for (const item of [...state.files]) forget(item);
  fieldError($("files"), $("drop-error"), "");
  renderQueue();
}

// --- presets and models ----------------------------------------------------------------------------

function renderChoices() {
  const auto = state.presets.find((preset) => preset.id === AUTO);
  const option = (value, text) => el("option", { value, textContent: text });
  const group = (label, options) => {
    const node = el("optgroup", {}, ...options);
    node.label = label;
    return options.length ? node : null;
  };
  const content = state.presets.filter((preset) => preset.model);
  $("model").replaceChildren(...[
    auto ? option(AUTO, auto.name) : null,
    group("By content", content.map((preset) => option(`${PRESET}${preset.id}`, preset.name))),
    group("Models", state.models.map((m) => option(m.id, m.name))),
  ].filter(Boolean));
  $("auto-help").textContent = auto?.description || "";
  $("model").value = auto ? AUTO : content[0] ? `${PRESET}${content[0].id}` : state.models[0]?.id;
  renderPresetHelp();
}

// The chosen preset's sentence from GET /v1/presets (`faithful`: no invented detail); `auto` has #auto-help.
function renderPresetHelp() {
  const preset = selectedPreset();
  $("preset-help").textContent = preset?.description || "";
  $("preset-help").hidden = !preset?.description;
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
    renderPresetHelp();
    renderQueue();
  });
  for (const radio of document.querySelectorAll("input[name=scale]")) radio.addEventListener("change", renderQueue);
  $("denoise").addEventListener("change", renderQueue);
  $("detail").addEventListener("input", () => {
    detailTouched = true;
    renderQueue();
  });
  $("conservative").addEventListener("change", renderQueue);
  $("format").addEventListener("change", renderQueue);
  $("video-format").addEventListener("change", renderQueue);
  $("start").addEventListener("click", () => submitQueue(onAccepted));
}
