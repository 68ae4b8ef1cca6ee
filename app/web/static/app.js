// Mind Render's page: plain ES module over the JSON API, authenticated by the session cookie.

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

const MESSAGES = {
  unsupported_image: "This file isn't an image we can read. Use PNG, JPEG, WebP, GIF, BMP or TIFF.",
  corrupt_image: "This image is damaged or incomplete; try exporting it again.",
  animated_image: "Animated images can't be upscaled; use a single frame.",
  empty_file: "This file is empty.",
  file_too_large: "This file is too large to upload.",
  image_too_large: "This image has too many pixels to upscale.",
  output_too_large: "The result would be too large; pick a smaller scale.",
  insufficient_credits: "You don't have enough credits for this. Buy credits or pick a smaller scale.",
  invalid_credentials: "Wrong email or password.",
  email_taken: "An account with this email already exists; log in instead.",
  login_throttled: "Too many attempts; wait a few minutes and try again.",
  rate_limited: "Too many requests; wait a moment and try again.",
  validation_error: "Please check the fields and try again.",
  webhook_url_not_allowed: "Webhook URLs must be public http(s) addresses.",
  input_missing: "The uploaded image was lost; you were refunded.",
  worker_lost: "The upscaler stopped unexpectedly; you were refunded. Please try again.",
  internal_error: "Something went wrong on our side; you were refunded.",
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(MESSAGES[code] || message || `Request failed (${status})`);
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = "GET", json, form } = {}) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (json !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The service can't be reached; check your connection.");
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body?.error?.code, body?.error?.message);
  return body;
}

function say(message, kind = "error") {
  const notice = $("notice");
  notice.textContent = message;
  notice.className = `notice ${kind}`;
  notice.hidden = !message;
}

const state = { models: [], presets: [], account: null, files: [] };

// --- pricing --------------------------------------------------------------------------------------

function selectedModel() {
  return state.models.find((m) => m.id === $("model").value) || state.models[0];
}

function selectedScale() {
  return Number(document.querySelector("input[name=scale]:checked").value);
}

function optionsAtScale() {
  const model = selectedModel();
  return model?.options?.find((o) => o.scale === selectedScale());
}

// Only what the chosen model has weights for at the chosen scale can be picked (GET /v1/models `options`).
function renderOptions() {
  const model = selectedModel();
  const oneX = Boolean(model?.scales?.includes(1));
  $("scale-1").hidden = !oneX;
  const scaleInput = document.querySelector("input[name=scale]:checked");
  if (!oneX && scaleInput?.value === "1") document.querySelector("input[name=scale][value='2']").checked = true;
  const at = optionsAtScale() || { plain: true, denoise: [], conservative: false };
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

// "about 40 s", "about 3 min": what the service expects (GET /v1/models measures its own workers).
function duration(seconds) {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`;
  return `about ${Math.round(seconds / 60)} min`;
}

function quote(width, height) {
  const model = selectedModel();
  const scale = selectedScale();
  if (!model || !width) return null;
  const outputPixels = width * height * scale * scale;
  if (outputPixels > model.max_output_pixels) return { tooLarge: true };
  const perCredit = model.credits.megapixels_per_credit * 1e6;
  const seconds = 1 + (outputPixels / 1e6) * (model.seconds_per_output_megapixel || 0);
  return { credits: Math.max(model.credits.minimum, Math.ceil(outputPixels / perCredit)), seconds };
}

function renderQueue() {
  renderOptions();
  const queue = $("queue");
  queue.replaceChildren();
  let total = 0;
  let unknown = false;
  for (const item of state.files) {
    const price = quote(item.width, item.height);
    let detail = "size read on upload";
    if (price?.tooLarge) detail = "too large at this scale";
    else if (price) {
      detail = `${item.width}×${item.height} → ${item.width * selectedScale()}×${item.height * selectedScale()}, ${price.credits} credit${price.credits === 1 ? "" : "s"}, ${duration(price.seconds)}`;
      total += price.credits;
    } else unknown = true;
    const remove = el("button", { type: "button", className: "link", textContent: "Remove" });
    remove.setAttribute("aria-label", `Remove ${item.file.name}`);
    remove.addEventListener("click", () => {
      state.files = state.files.filter((f) => f !== item);
      renderQueue();
    });
    queue.append(el("li", {}, el("span", { className: "name", textContent: item.file.name }), " ",
      el("span", { className: "muted", textContent: detail }), " ", remove));
  }
  const balance = state.account?.credits_balance ?? 0;
  const after = balance - total;
  $("quote").textContent = state.files.length
    ? `Price: ${total} credit${total === 1 ? "" : "s"}${unknown ? " + files priced on upload" : ""}. ` +
      `Balance ${balance} → ${after}.` + (after < 0 ? " Not enough credits." : "")
    : "";
  $("quote").classList.toggle("warn", after < 0);
  $("start").disabled = state.files.length === 0;
  $("start").textContent = state.files.length > 1 ? `Upscale ${state.files.length} images` : "Upscale";
}

async function addFiles(fileList) {
  for (const file of fileList) {
    const item = { file, width: 0, height: 0 };
    try {
      const bitmap = await createImageBitmap(file);
      item.width = bitmap.width;
      item.height = bitmap.height;
      bitmap.close();
    } catch {
      // Browsers can't decode every format (TIFF); the service checks the file and says what is wrong.
    }
    state.files.push(item);
  }
  renderQueue();
}

// --- jobs -----------------------------------------------------------------------------------------

const SUFFIX = { png: "png", jpeg: "jpg", webp: "webp", gif: "gif", bmp: "bmp", tiff: "tiff" };

function resultCard(file) {
  const status = el("p", { className: "status", textContent: "Uploading…" });
  const bar = el("progress", { max: 1, value: 0 });
  bar.setAttribute("aria-label", `Progress of ${file.name}`);
  const card = el("li", { className: "result" }, el("h3", { textContent: file.name }), status, bar);
  $("results").prepend(card);
  $("results-empty").hidden = true;
  return { card, status, bar };
}

function comparison(beforeUrl, afterUrl, name) {
  const after = el("img", { src: afterUrl, alt: `${name}, upscaled` });
  const before = el("img", { src: beforeUrl, alt: `${name}, original` });
  const clip = el("div", { className: "clip" }, before);
  const slider = el("input", { type: "range", min: 0, max: 100, value: 50, className: "slider" });
  slider.setAttribute("aria-label", "Compare original (left) and upscaled (right)");
  const frame = el("div", { className: "compare" }, after, clip);
  const move = () => { clip.style.width = `${slider.value}%`; };
  slider.addEventListener("input", move);
  move();
  return el("div", {}, frame, slider);
}

async function watch(job, file, view) {
  for (;;) {
    view.bar.value = job.progress;
    const left = job.eta_seconds == null ? "" : `, ${duration(job.eta_seconds)} left`;
    view.status.textContent = { queued: `Waiting for a worker${left}…`, running: `Upscaling… ${Math.round(job.progress * 100)}%${left}` }[job.status] || "";
    if (!["queued", "running"].includes(job.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 700));
    try {
      job = await api(`/v1/jobs/${job.id}`);
    } catch (error) {
      view.status.textContent = error.message;
    }
  }
  view.bar.remove();
  if (job.status !== "succeeded") {
    view.status.textContent = MESSAGES[job.error?.code] || job.error?.message || `The job ended ${job.status}.`;
    view.card.classList.add("failed");
    await refreshAccount();
    return;
  }
  const stem = file.name.replace(/\.[^.]+$/, "");
  const filename = `${stem}_x${job.scale}.${SUFFIX[job.output.format] || job.output.format}`;
  view.status.textContent = `Done: ${job.output.width}×${job.output.height}, ${job.credits_charged} credit${job.credits_charged === 1 ? "" : "s"}.`;
  const named = `${job.output.url}?filename=${encodeURIComponent(filename)}`;
  const download = el("a", { href: named, className: "button primary", textContent: "Download" });
  download.download = filename;
  const remove = el("button", { type: "button", textContent: "Delete now" });
  remove.addEventListener("click", async () => {
    try {
      await api(`/v1/jobs/${job.id}`, { method: "DELETE" });
      view.card.querySelector(".compare-wrap")?.remove();
      download.remove();
      remove.remove();
      view.status.textContent = "Deleted from our servers.";
    } catch (error) {
      say(error.message);
    }
  });
  const wrap = comparison(URL.createObjectURL(file), job.output.url, file.name);
  wrap.className = "compare-wrap";
  view.card.append(wrap, el("div", { className: "row" }, download, remove));
  await refreshAccount();
}

async function submit(item) {
  const view = resultCard(item.file);
  const form = new FormData();
  form.append("file", item.file);
  form.append("model", selectedModel().id);
  form.append("scale", String(selectedScale()));
  if ($("denoise").value !== "") form.append("denoise", $("denoise").value);
  if ($("conservative").checked) form.append("conservative", "true");
  if ($("format").value) form.append("output_format", $("format").value);
  try {
    const job = await api("/v1/jobs", { method: "POST", form });
    await refreshAccount();
    await watch(job, item.file, view);
  } catch (error) {
    view.bar.remove();
    view.status.textContent = error.message;
    view.card.classList.add("failed");
  }
}

// --- account panels --------------------------------------------------------------------------------

const KINDS = {
  signup_grant: "Welcome credits", job_hold: "Upscale", job_refund: "Refund (failed or canceled)",
  pack_purchase: "Credit pack", plan_period: "Plan credits", payment_refund: "Payment refunded",
};

async function refreshAccount() {
  state.account = await api("/v1/account");
  $("who-email").textContent = state.account.email;
  $("balance").textContent = state.account.credits_balance;
  renderQueue();
  const { entries } = await api("/v1/account/ledger?limit=20");
  $("ledger").replaceChildren(...entries.map((e) => el("tr", {},
    el("td", { textContent: new Date(e.created_at).toLocaleString() }),
    el("td", { textContent: KINDS[e.kind] || e.kind }),
    el("td", { className: "num", textContent: e.amount > 0 ? `+${e.amount}` : String(e.amount) }),
    el("td", { className: "num", textContent: e.balance_after }))));
}

async function refreshKeys() {
  const keys = await api("/v1/api-keys");
  $("keys").replaceChildren(...keys.map((key) => {
    const revoke = el("button", { type: "button", className: "link", textContent: "Revoke" });
    revoke.setAttribute("aria-label", `Revoke key ${key.name}`);
    revoke.addEventListener("click", async () => {
      await api(`/v1/api-keys/${key.id}`, { method: "DELETE" }).catch((error) => say(error.message));
      await refreshKeys();
    });
    return el("li", {}, el("span", { textContent: `${key.name} ` }), el("code", { textContent: `${key.prefix}…` }), " ", revoke);
  }));
}

async function refreshHooks() {
  let endpoints;
  try {
    endpoints = await api("/v1/webhook-endpoints");
  } catch (error) {
    if (error.status === 404) { $("hooks").hidden = true; return; }
    throw error;
  }
  $("hook-list").replaceChildren(...endpoints.map((hook) => {
    const remove = el("button", { type: "button", className: "link", textContent: "Delete" });
    remove.setAttribute("aria-label", `Delete endpoint ${hook.url}`);
    remove.addEventListener("click", async () => {
      await api(`/v1/webhook-endpoints/${hook.id}`, { method: "DELETE" }).catch((error) => say(error.message));
      await refreshHooks();
    });
    const note = hook.disabled_at ? ` Disabled: ${hook.disabled_reason}` : hook.failing_since ? " Deliveries are failing." : "";
    return el("li", { className: hook.disabled_at ? "failed" : "" }, el("code", { textContent: hook.url }),
      el("span", { className: "muted", textContent: ` ${hook.events.join(", ")}.${note} ` }), remove);
  }));
}

async function refreshOffers() {
  let catalog;
  try {
    catalog = await api("/v1/billing/plans");
  } catch {
    $("buy").hidden = true; // billing not configured here
    return;
  }
  const money = (p) => new Intl.NumberFormat(undefined, { style: "currency", currency: p.currency.toUpperCase() }).format(p.amount / 100);
  const offer = (label, detail, body) => {
    const button = el("button", { type: "button", textContent: label });
    button.addEventListener("click", async () => {
      try {
        const { url } = await api("/v1/billing/checkout", { method: "POST", json: body });
        window.location.assign(url);
      } catch (error) {
        say(error.message);
      }
    });
    return el("div", { className: "offer" }, button, el("span", { className: "muted", textContent: detail }));
  };
  $("offers").replaceChildren(
    ...catalog.plans.map((p) => offer(`${p.name}: ${p.credits_per_period} credits a ${p.interval}`, `${money(p.price)} a ${p.interval}`, { plan: p.id })),
    ...catalog.packs.map((p) => offer(`${p.credits} credits`, `${money(p.price)} once`, { pack: p.id })),
  );
  $("buy").hidden = false;
}

// --- presets and models ----------------------------------------------------------------------------

const FALLBACK_PRESETS = [
  { id: "photo", name: "Photo", model: "realesrgan-x4plus" },
  { id: "anime", name: "Anime / illustration", model: "realesrgan-x4plus-anime" },
  { id: "text", name: "Text / document", model: "realesr-animevideov3" },
];

function renderChoices() {
  $("model").replaceChildren(...state.models.map((m) => el("option", { value: m.id, textContent: m.name })));
  const radios = state.presets.map((preset, index) => {
    const input = el("input", { type: "radio", name: "preset", value: preset.model, checked: index === 0 });
    input.addEventListener("change", () => { $("model").value = preset.model; renderQueue(); });
    return el("label", {}, input, ` ${preset.name}`);
  });
  $("presets").replaceChildren(...radios);
  $("model").value = state.presets[0]?.model || state.models[0]?.id;
}

async function loadCatalog() {
  state.models = await api("/v1/models");
  state.presets = await api("/v1/presets").catch(() => FALLBACK_PRESETS);
  renderChoices();
}

// --- sign-in ---------------------------------------------------------------------------------------

async function showApp() {
  $("auth").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  await Promise.all([refreshAccount(), refreshKeys(), refreshHooks(), refreshOffers()]);
}

function showAuth() {
  $("auth").hidden = false;
  $("app").hidden = true;
  $("who").hidden = true;
}

async function logIn(email, password) {
  await api("/v1/sessions", { method: "POST", json: { email, password } });
  say("");
  await showApp();
}

function wire() {
  $("auth-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await logIn($("email").value, $("password").value);
    } catch (error) {
      say(error.message);
    }
  });
  $("signup").addEventListener("click", async () => {
    const email = $("email").value;
    const password = $("password").value;
    if (password.length < 8) return say("Choose a password of at least 8 characters.");
    try {
      await api("/v1/accounts", { method: "POST", json: { email, password } });
      await logIn(email, password);
      say("Welcome! Your free credits are in your balance.", "ok");
    } catch (error) {
      say(error.message);
    }
  });
  $("logout").addEventListener("click", async () => {
    await api("/v1/sessions", { method: "DELETE" }).catch(() => null);
    state.account = null;
    showAuth();
  });
  $("files").addEventListener("change", (event) => { addFiles(event.target.files); event.target.value = ""; });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addFiles(event.dataTransfer.files);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("files").click(); }
  });
  $("model").addEventListener("change", () => {
    // A model picked by hand: the content preset that runs it (if any) stays checked, the others clear.
    for (const radio of document.querySelectorAll("input[name=preset]")) radio.checked = radio.value === $("model").value;
    renderQueue();
  });
  for (const radio of document.querySelectorAll("input[name=scale]")) radio.addEventListener("change", renderQueue);
  $("denoise").addEventListener("change", renderQueue);
  $("conservative").addEventListener("change", renderQueue);
  $("start").addEventListener("click", () => {
    const items = state.files;
    state.files = [];
    renderQueue();
    say("");
    for (const item of items) submit(item);
  });
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("/v1/api-keys", { method: "POST", json: { name: $("key-name").value } });
      $("new-key-value").textContent = created.key;
      $("new-key").hidden = false;
      $("key-name").value = "";
      await refreshKeys();
    } catch (error) {
      say(error.message);
    }
  });
  $("copy-key").addEventListener("click", () => navigator.clipboard?.writeText($("new-key-value").textContent));
  $("hook-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api("/v1/webhook-endpoints", { method: "POST", json: { url: $("hook-url").value } });
      $("new-hook-value").textContent = created.secret;
      $("new-hook").hidden = false;
      $("hook-url").value = "";
      await refreshHooks();
    } catch (error) {
      say(error.message);
    }
  });
}

async function start() {
  wire();
  await loadCatalog();
  const params = new URLSearchParams(window.location.search);
  if (params.get("checkout") === "success") say("Thank you! Your credits arrive as soon as Stripe confirms the payment.", "ok");
  try {
    state.account = await api("/v1/account");
    await showApp();
  } catch (error) {
    if (error.status === 401) showAuth();
    else say(error.message);
  }
}

start();
