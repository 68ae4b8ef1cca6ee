// The signed-in panels below the results: credit history, buying credits, API keys and webhooks. Each
// form shows the API's message under the field it is about.

import { $, api, el, fieldError, moment } from "./api.js";

const KINDS = {
  signup_grant: "Welcome credits", job_hold: "Upscale", job_refund: "Refund (failed or canceled)",
  pack_purchase: "Credit pack", plan_period: "Plan credits", payment_refund: "Payment refunded",
  operator_grant: "Credits from Mind Render",
};

export async function refreshLedger() {
  const { entries } = await api("/v1/account/ledger?limit=20");
  $("ledger").replaceChildren(...entries.map((e) => el("tr", {},
    el("td", { textContent: moment(e.created_at) }),
    el("td", { textContent: e.filename ? `${KINDS[e.kind] || e.kind}: ${e.filename}` : KINDS[e.kind] || e.kind }),
    el("td", { className: "num", textContent: e.amount > 0 ? `+${e.amount}` : String(e.amount) }),
    el("td", { className: "num", textContent: e.balance_after }))));
}

export async function refreshKeys() {
  const keys = await api("/v1/api-keys");
  $("keys").replaceChildren(...keys.map((key) => {
    const revoke = el("button", { type: "button", className: "link", textContent: "Revoke" });
    revoke.setAttribute("aria-label", `Revoke key ${key.name}`);
    const problem = el("span", { className: "field-error", hidden: true });
    revoke.addEventListener("click", async () => {
      try {
        await api(`/v1/api-keys/${key.id}`, { method: "DELETE" });
        await refreshKeys();
        $("key-name").focus();
      } catch (error) {
        fieldError(null, problem, error.message);
      }
    });
    return el("li", {}, el("span", { textContent: `${key.name} ` }), el("code", { textContent: `${key.prefix}…` }),
      " ", revoke, problem);
  }));
}

export async function refreshHooks() {
  let endpoints;
  try {
    endpoints = await api("/v1/webhook-endpoints");
  } catch (error) {
    if (error.status === 404) {
      $("hooks").hidden = true;
      return;
    }
    throw error;
  }
  $("hook-list").replaceChildren(...endpoints.map((hook) => {
    const remove = el("button", { type: "button", className: "link", textContent: "Delete" });
    remove.setAttribute("aria-label", `Delete endpoint ${hook.url}`);
    const problem = el("span", { className: "field-error", hidden: true });
    remove.addEventListener("click", async () => {
      try {
        await api(`/v1/webhook-endpoints/${hook.id}`, { method: "DELETE" });
        await refreshHooks();
        $("hook-url").focus();
      } catch (error) {
        fieldError(null, problem, error.message);
      }
    });
    const note = hook.disabled_at ? ` Disabled: ${hook.disabled_reason}` : hook.failing_since ? " Deliveries are failing." : "";
    return el("li", { className: hook.disabled_at ? "failed" : "" }, el("code", { textContent: hook.url }),
      el("span", { className: "muted", textContent: ` ${hook.events.join(", ")}.${note} ` }), remove, problem);
  }));
}

export function money(price) {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: price.currency.toUpperCase() })
    .format(price.amount / 100);
}

export async function loadOffers() {
  try {
    return await api("/v1/billing/plans");
  } catch {
    return null; // billing is not configured on this service
  }
}

export function renderOffers(catalog) {
  $("buy").hidden = !(catalog?.plans.length || catalog?.packs.length); // none when billing is off
  if ($("buy").hidden) return;
  const offer = (label, detail, body) => {
    const button = el("button", { type: "button", textContent: label });
    button.addEventListener("click", async () => {
      try {
        fieldError(null, $("buy-error"), "");
        const { url } = await api("/v1/billing/checkout", { method: "POST", json: body });
        window.location.assign(url);
      } catch (error) {
        fieldError(null, $("buy-error"), error.message);
      }
    });
    return el("div", { className: "offer" }, button, el("span", { className: "muted", textContent: detail }));
  };
  $("offers").replaceChildren(
    ...catalog.plans.map((p) => offer(`${p.name}: ${p.credits_per_period} credits a ${p.interval}`,
      `${money(p.price)} a ${p.interval}`, { plan: p.id })),
    ...catalog.packs.map((p) => offer(`${p.credits} credits`, `${money(p.price)} once`, { pack: p.id })),
  );
}

async function submitKey(event) {
  event.preventDefault();
  fieldError($("key-name"), $("key-error"), "");
  try {
    const created = await api("/v1/api-keys", { method: "POST", json: { name: $("key-name").value } });
    $("new-key-value").textContent = created.key;
    $("new-key").hidden = false;
    $("key-name").value = "";
    await refreshKeys();
  } catch (error) {
    fieldError($("key-name"), $("key-error"), error.message);
    $("key-name").focus();
  }
}

async function submitHook(event) {
  event.preventDefault();
  fieldError($("hook-url"), $("hook-error"), "");
  try {
    const created = await api("/v1/webhook-endpoints", { method: "POST", json: { url: $("hook-url").value } });
    $("new-hook-value").textContent = created.secret;
    $("new-hook").hidden = false;
    $("hook-url").value = "";
    await refreshHooks();
  } catch (error) {
    fieldError($("hook-url"), $("hook-error"), error.message);
    $("hook-url").focus();
  }
}

export function wireAccount() {
  $("key-form").addEventListener("submit", submitKey);
  $("hook-form").addEventListener("submit", submitHook);
  $("copy-key").addEventListener("click", () => navigator.clipboard?.writeText($("new-key-value").textContent));
}
