// Results: the jobs of this account from GET /v1/jobs (a page at a time, newest first) merged with the ones
// submitted from this tab; progress with the service's estimate; batch download as one zip.

import { $, announce, api, duration, el, moment, plural } from "./api.js";
import { createViewer } from "./compare.js";
import { createVideoResult } from "./video.js";

const PAGE_SIZE = 10;
const ACTIVE = ["queued", "running"];
const SUFFIX = { png: "png", jpeg: "jpg", webp: "webp", gif: "gif", bmp: "bmp", tiff: "tiff" };
// Never shown as done before the service says so, however late the estimate.
const MOST_BEFORE_DONE = 0.97;
const TICK_MS = 200;
// Results larger than this get a button instead of a thumbnail (the API has no thumbnails yet).
const THUMBNAIL_MAX_PIXELS = 16e6;
const ARCHIVE_MAX_JOBS = 100;

// Jobs carry their upload's name (`filename`); this browser also remembers the names it sent, for two days,
// for jobs made before the API kept names.
const NAMES_KEY = "mindrender.names";

function rememberedNames() {
  try {
    return JSON.parse(localStorage.getItem(NAMES_KEY)) || {};
  } catch {
    return {};
  }
}

function rememberName(jobId, name) {
  const names = rememberedNames();
  const oldest = Date.now() - 2 * 86400e3;
  for (const [id, entry] of Object.entries(names)) if (!(entry.t > oldest)) delete names[id];
  names[jobId] = { n: name, t: Date.now() };
  try {
    localStorage.setItem(NAMES_KEY, JSON.stringify(names));
  } catch {
    // Storage full or disabled: the name is only missing after a reload.
  }
}

const state = { views: new Map(), cursor: null, modelName: (id) => id, onEnded: () => {} };

export function configureResults({ modelName, onEnded }) {
  state.modelName = modelName;
  state.onEnded = onEnded;
}

function describe(job) {
  const frames = job.video ? `, ${plural(job.video.frames, "frame")}` : "";
  const size = `${job.input.width}×${job.input.height} → ${job.output.width}×${job.output.height}${frames}`;
  // A model's options; a recipe of several stages is named stage by stage instead.
  const single = !job.recipe || (job.recipe.length === 1 && job.recipe[0].stages.length === 1);
  const options = single
    ? [job.denoise != null ? `denoise ${job.denoise}` : "", job.conservative ? "conservative" : ""].filter(Boolean).join(", ")
    : "";
  const credits = job.credits_refunded
    ? `${plural(job.credits_refunded, "credit")} refunded`
    : plural(job.credits_charged, "credit");
  let chosen = "";
  if (job.preset === "auto") chosen = ` · picked by Automatic (${job.reason})`;
  else if (job.preset) chosen = ` · ${job.preset} preset${job.detail != null ? `, detail ${job.detail}` : ""}`;
  return `${recipeText(job)} ${job.scale}×${options ? ` (${options})` : ""} · ${size} · ` +
    `${credits} · ${moment(job.created_at)}${chosen}`;
}

// What ran: a model; a clean-up at 1× then the upscaler; or two such results mixed by weight. A first
// branch that weighs nothing (detail 100) ran for the other's colour and shading alone.
function recipeText(job) {
  const recipe = job.recipe || [{ weight: 1, stages: [{ model: job.model, scale: job.scale }] }];
  const branches = recipe.map((branch) =>
    branch.stages.map((stage) => `${state.modelName(stage.model)}${stage.scale === 1 && job.scale !== 1 ? " at 1×" : ""}`)
      .join(" → "));
  const mixed = branches.map((text, i) => [text, recipe[i].weight]).filter(([, weight]) => weight > 0);
  const text = mixed.length === 1 ? mixed[0][0]
    : mixed.map(([part, weight]) => `${part} ${Math.round(weight * 100)} %`).join(" + ");
  return mixed.length < branches.length ? `${text} (colour from ${branches[0]})` : text;
}

function createView(job, name, before) {
  const select = el("input", { type: "checkbox", className: "select" });
  select.setAttribute("aria-label", `Select ${name} for download`);
  select.addEventListener("change", renderDownloads);
  const title = el("h3", { textContent: name, tabIndex: -1 });
  const bar = el("progress", { max: 1 });
  bar.setAttribute("aria-label", `Progress of ${name}`);
  const view = {
    job, name, before, select, title, bar,
    meta: el("p", { className: "meta" }),
    status: el("p", { className: "status" }),
    body: el("div", { className: "result-body" }),
    actions: el("div", { className: "row actions" }),
    shown: 0, deadline: null, runningSince: null, ticker: null, stopped: false,
    release: null, // a video result's: frees its paused frames when the body is redrawn or cleared
  };
  view.li = el("li", { className: "result" }, el("div", { className: "result-head" }, select, title),
    view.meta, view.status, bar, view.body, view.actions);
  view.li.dataset.jobId = job.id;
  return view;
}

// --- progress --------------------------------------------------------------------------------------

// The bar moves between polls with the time the service expects: a job of one tile reports 0 until it is
// done, and would otherwise sit at 0 % and jump to 100 %. Run time so far over (that + eta) is what the
// service's own eta is made from once progress is reported, so the two agree when both exist.
function tick(view) {
  const { job, bar } = view;
  const now = performance.now();
  const left = view.deadline === null ? null : Math.max(0, (view.deadline - now) / 1000);
  if (job.status === "queued") {
    bar.removeAttribute("value");
    view.status.textContent = `Waiting for a worker${left === null ? "" : `, ${duration(left)} left`}…`;
    return;
  }
  let projected = job.progress;
  if (view.deadline !== null && view.deadline > view.runningSince) {
    projected = (now - view.runningSince) / (view.deadline - view.runningSince);
  }
  view.shown = Math.max(view.shown, job.progress, Math.min(projected, MOST_BEFORE_DONE));
  bar.value = view.shown;
  const remaining = left === null ? "" : left >= 1 ? `, ${duration(left)} left` : ", almost done";
  view.status.textContent = `Upscaling… ${Math.round(view.shown * 100)} %${frameOf(job)}${remaining}`;
}

// A video's progress counts frames: the one in hand, as the service last reported it.
function frameOf(job) {
  if (!job.video || job.status !== "running") return "";
  const { frames } = job.video;
  return `, frame ${Math.min(frames, Math.floor(job.progress * frames) + 1)} of ${frames}`;
}

function observe(view, job) {
  const now = performance.now();
  if (job.status === "running" && view.runningSince === null) {
    // Seen running now; it may have started up to a poll earlier, which only makes the bar cautious.
    view.runningSince = now;
  }
  view.job = job;
  if (job.eta_seconds != null) view.deadline = now + job.eta_seconds * 1000;
  else if (job.status === "running" && job.estimated_seconds != null) {
    view.deadline = view.runningSince + job.estimated_seconds * 1000;
  } else view.deadline = null;
}

const sleep = (ms) => new Promise((resolve) => { window.setTimeout(resolve, ms); });

async function follow(view) {
  view.ticker = window.setInterval(() => tick(view), TICK_MS);
  tick(view);
  let failures = 0;
  while (!view.stopped && ACTIVE.includes(view.job.status)) {
    await sleep(Math.min(700 * 2 ** failures, 10_000));
    if (view.stopped) break;
    try {
      observe(view, await api(`/v1/jobs/${view.job.id}`));
      failures = 0;
    } catch (error) {
      if (error.status === 404) break;
      failures += 1;
      view.status.textContent = `${error.message} Retrying…`;
    }
  }
  window.clearInterval(view.ticker);
  if (view.stopped) return;
  render(view);
  announce(view.job.status === "succeeded" ? `${view.name} is ready.` : `${view.name}: ${view.status.textContent}`);
  state.onEnded(view.job);
}

// --- one result --------------------------------------------------------------------------------------

function downloadName(view) {
  const stem = view.name.replace(/\.[^.]+$/, "");
  return `${stem}_x${view.job.scale}.${SUFFIX[view.job.output.format] || view.job.output.format}`;
}

function showViewer(view, button) {
  const { job } = view;
  const viewer = createViewer({
    before: view.before, after: job.output.url, width: job.output.width, height: job.output.height, name: view.name,
  });
  const note = view.before ? null : el("p", { className: "muted small",
    textContent: "Originals are deleted when the upscale ends, so only the tab that uploaded it can compare." });
  view.body.replaceChildren(...[viewer, note].filter(Boolean));
  button?.remove();
}

function finished(view) {
  const { job } = view;
  const frames = job.video ? `, ${plural(job.video.frames, "frame")}` : "";
  view.status.textContent = `Done: ${job.output.width}×${job.output.height}${frames}, ` +
    `${plural(job.credits_charged, "credit")}. ` +
    `Kept until ${moment(job.output.expires_at)}.`;
  const download = el("a", { href: `${job.output.url}?filename=${encodeURIComponent(downloadName(view))}`,
    className: "button primary", textContent: "Download" });
  download.download = downloadName(view);
  download.setAttribute("aria-label", `Download ${view.name}`);
  const open = el("button", { type: "button", textContent: view.before ? "Compare" : "View" });
  open.setAttribute("aria-label", `${view.before ? "Compare" : "View"} ${view.name}`);
  open.addEventListener("click", () => showViewer(view, open));
  const remove = el("button", { type: "button", textContent: "Delete now" });
  remove.setAttribute("aria-label", `Delete now: ${view.name}`);
  const problem = el("p", { className: "field-error", hidden: true });
  remove.addEventListener("click", async () => {
    try {
      const job = await api(`/v1/jobs/${view.job.id}`, { method: "DELETE" });
      view.job = job;
      render(view);
      view.status.textContent = "Deleted from our servers.";
      announce(`${view.name} deleted.`);
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
    }
  });
  if (job.video) {
    // The player is the view; the before/after viewer comes with each pause.
    view.actions.append(download, remove, problem);
    const video = createVideoResult({ before: view.before, after: job.output.url, width: job.output.width,
      height: job.output.height, name: view.name });
    view.release = video.release;
    view.body.append(video.element);
    return;
  }
  view.actions.append(download, open, remove, problem);
  if (view.before) showViewer(view, open);
  else if (job.output.width * job.output.height <= THUMBNAIL_MAX_PIXELS) {
    view.body.append(el("img", { src: job.output.url, alt: `${view.name}, upscaled (preview)`, className: "thumb",
      loading: "lazy" }));
  }
}

function render(view) {
  const { job, bar } = view;
  view.meta.textContent = describe(job);
  view.release?.();
  view.release = null;
  view.body.replaceChildren();
  view.actions.replaceChildren();
  view.li.classList.remove("failed", "expired");
  const hasResult = job.status === "succeeded" && Boolean(job.output.url);
  view.select.hidden = !hasResult;
  if (!hasResult) view.select.checked = false;
  bar.hidden = !ACTIVE.includes(job.status);
  if (hasResult) finished(view);
  else if (job.status === "failed") {
    view.li.classList.add("failed");
    view.status.textContent = `Failed: ${job.error?.message || "the upscale did not finish."}`;
  } else if (job.status === "canceled") {
    view.status.textContent = "Canceled before it ran.";
  } else if (job.status === "expired" || job.status === "succeeded") {
    view.li.classList.add("expired");
    view.status.textContent = "Expired: the result has been deleted.";
  }
  renderDownloads();
}

function show(job, { name, before = null, first = false }) {
  const view = createView(job, name, before);
  state.views.set(job.id, view);
  if (first) $("results").prepend(view.li);
  else $("results").append(view.li);
  $("results-empty").hidden = true;
  observe(view, job);
  render(view);
  if (ACTIVE.includes(job.status)) follow(view);
  return view;
}

/** A job this tab just submitted: shown first, compared with the original from `file`. */
export function showSubmitted(job, file) {
  rememberName(job.id, file.name);
  return show(job, { name: file.name, before: URL.createObjectURL(file), first: true });
}

export function reveal(view) {
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  view.li.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" });
}

// --- history ------------------------------------------------------------------------------------------

export async function loadHistory() {
  const problem = $("history-error");
  const cursor = state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "";
  try {
    const page = await api(`/v1/jobs?limit=${PAGE_SIZE}${cursor}`);
    problem.hidden = true;
    const added = page.jobs.filter((job) => !state.views.has(job.id)).map((job) => {
      const kind = job.video ? "Video" : "Image";
      const name = job.filename || rememberedNames()[job.id]?.n || `${kind} ${job.input.width}×${job.input.height}`;
      return show(job, { name });
    });
    state.cursor = page.next_cursor;
    $("load-more").hidden = !state.cursor;
    renderDownloads();
    return added;
  } catch (error) {
    problem.textContent = error.message;
    problem.hidden = false;
    return [];
  }
}

export function clearResults() {
  for (const view of state.views.values()) {
    view.stopped = true;
    window.clearInterval(view.ticker);
    view.release?.();
    if (view.before) URL.revokeObjectURL(view.before);
  }
  state.views.clear();
  state.cursor = null;
  $("results").replaceChildren();
  $("results-empty").hidden = false;
  $("load-more").hidden = true;
  renderDownloads();
}

// --- batch download -------------------------------------------------------------------------------------

function downloadable() {
  return [...state.views.values()].filter((view) => view.job.status === "succeeded" && view.job.output.url);
}

function renderDownloads() {
  const all = downloadable();
  const chosen = all.filter((view) => view.select.checked);
  $("downloads").hidden = all.length === 0;
  $("download-selected").disabled = chosen.length === 0;
  $("download-selected").textContent = `Download selected (${chosen.length})`;
  // With older pages not loaded yet, "all" would promise more than the zip holds.
  const scope = state.cursor ? "Download all listed" : "Download all";
  $("download-all").textContent = `${scope} (${Math.min(all.length, ARCHIVE_MAX_JOBS)})`;
}

function downloadArchive(views) {
  const ids = views.slice(0, ARCHIVE_MAX_JOBS).map((view) => view.job.id).join(",");
  const link = el("a", { href: `/v1/jobs/archive?ids=${ids}`, download: "mindrender-results.zip", hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

export function wireResults() {
  $("load-more").addEventListener("click", async () => {
    const added = await loadHistory();
    if ($("load-more").hidden && added.length) added[0].title.focus();
  });
  $("download-selected").addEventListener("click", () => {
    downloadArchive(downloadable().filter((view) => view.select.checked));
  });
  $("download-all").addEventListener("click", () => downloadArchive(downloadable()));
}
