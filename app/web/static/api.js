// The JSON API over fetch, authenticated by the session cookie; errors carry the API's own message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `The request failed (HTTP ${status}).`);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", json, form, signal } = {}) {
  const init = { method, credentials: "same-origin", headers: {}, signal };
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
    throw new ApiError(0, "network", "The service can't be reached; check your connection and try again.");
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body?.error?.code, body?.error?.message);
  return body;
}

export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

// One way to write a moment everywhere on the page: "today 14:05", else "6 Dec 2026, 14:05".
export function moment(iso) {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? `today ${date.toLocaleTimeString([], { timeStyle: "short" })}`
    : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

// "about 40 s", "about 3 min": what the service expects (GET /v1/models measures its own workers).
export function duration(seconds) {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s`;
  return `about ${Math.round(seconds / 60)} min`;
}

// Screen readers hear status changes here (one polite region, so progress ticks never flood it).
export function announce(message) {
  const region = $("announcer");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = message; }, 50);
}

// An error shown next to the control that caused it, and tied to it for assistive technology.
export function fieldError(input, slot, message) {
  slot.textContent = message || "";
  slot.hidden = !message;
  if (!input) return;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

export function say(message, kind = "error") {
  const notice = $("notice");
  notice.textContent = message;
  notice.className = `notice ${kind}`;
  notice.hidden = !message;
}

// A pick as GET /v1/presets words it ("waifu2x-cunet denoise 1 at 1x, then realsr-df2k") as its stages,
// each with its model from GET /v1/models (undefined where this service does not list it).
export function stagesOf(pick, models) {
  return pick.split(", then ").map((stage) =>
    ({ model: models.find((m) => m.id === stage.split(" ")[0]), oneX: stage.endsWith(" at 1x") }));
}

// One price for a recipe's stages, as the service makes it: their worth summed and rounded up once, at least
// the largest stage's minimum (app/catalog/prices.py `credits_for_stages`); a 1x clean-up at the input's size.
export function priceOfStages(stages, width, height, scale) {
  const worth = stages.reduce((sum, { model, oneX }) =>
    sum + (width * height * (oneX ? 1 : scale * scale)) / 1e6 / model.credits.megapixels_per_credit, 0);
  return Math.max(...stages.map(({ model }) => model.credits.minimum), Math.ceil(worth - 1e-9));
}
