// Mind Render's page: plain ES modules over the JSON API, authenticated by the session cookie.

import { $, api, fieldError, say } from "./api.js";
import { loadOffers, refreshHooks, refreshKeys, refreshLedger, renderOffers, wireAccount } from "./account.js";
import { renderLanding } from "./landing.js";
import { clearResults, configureResults, loadHistory, wireResults } from "./results.js";
import { clearQueue, configureUpload, renderQueue, wireUpload } from "./upload.js";

const FALLBACK_PRESETS = [
  { id: "photo", name: "Photo", model: "waifu2x-photo" },
  { id: "anime", name: "Anime / illustration", model: "waifu2x-cunet" },
  { id: "text", name: "Text / document", model: "waifu2x-cunet" },
  { id: "faithful", name: "Faithful", model: "faithful" },
];

const state = { models: [], presets: [], offers: null, account: null };

// Whether this browser holds a session (the cookie itself is HttpOnly): a visitor who never signed in, or
// signed out, is not asked for an account, which would only answer 401 (an error in every console).
const SIGNED_IN_KEY = "mindrender.signed-in";
const signedIn = {
  get: () => localStorage.getItem(SIGNED_IN_KEY) === "1",
  set: (yes) => (yes ? localStorage.setItem(SIGNED_IN_KEY, "1") : localStorage.removeItem(SIGNED_IN_KEY)),
};

async function refreshAccount() {
  state.account = await api("/v1/account");
  $("who-email").textContent = state.account.email;
  $("balance").textContent = state.account.credits_balance;
  renderQueue();
  await refreshLedger();
}

async function showApp() {
  $("landing").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  renderOffers(state.offers);
  clearResults();
  await Promise.all([refreshAccount(), loadHistory(), refreshKeys(), refreshHooks()]);
}

function showLanding() {
  state.account = null;
  clearResults();
  clearQueue();
  $("landing").hidden = false;
  $("app").hidden = true;
  $("who").hidden = true;
  renderLanding(state);
}

function authProblem(message, field = null) {
  fieldError(field, $("auth-error"), message);
  for (const input of [$("email"), $("password")]) if (input !== field) input.removeAttribute("aria-invalid");
}

async function logIn(email, password) {
  await api("/v1/sessions", { method: "POST", json: { email, password } });
  signedIn.set(true);
  authProblem("");
  $("password").value = "";
  await showApp();
  $("upload-title").focus();
}

function wireAuth() {
  $("auth-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await logIn($("email").value, $("password").value);
    } catch (error) {
      authProblem(error.message, error.code === "invalid_credentials" ? $("password") : null);
    }
  });
  $("signup").addEventListener("click", async () => {
    const email = $("email").value;
    const password = $("password").value;
    if (password.length < 8) return authProblem("Choose a password of at least 8 characters.", $("password"));
    try {
      await api("/v1/accounts", { method: "POST", json: { email, password } });
      await logIn(email, password);
      say("Welcome! Your free credits are in your balance.", "ok");
    } catch (error) {
      authProblem(error.message, error.code === "email_taken" ? $("email") : null);
    }
  });
  $("logout").addEventListener("click", async () => {
    await api("/v1/sessions", { method: "DELETE" }).catch(() => null);
    signedIn.set(false);
    say("");
    showLanding();
    $("email").focus();
  });
}

async function loadCatalog() {
  const [models, presets, offers] = await Promise.all([
    api("/v1/models"), api("/v1/presets").catch(() => FALLBACK_PRESETS), loadOffers(),
  ]);
  Object.assign(state, { models, presets, offers });
  configureUpload({ models, presets, balance: () => state.account?.credits_balance ?? 0 });
  configureResults({
    modelName: (id) => models.find((m) => m.id === id)?.name || id,
    onEnded: () => refreshAccount().catch((error) => say(error.message)),
  });
}

async function start() {
  wireAuth();
  wireUpload(() => refreshAccount());
  wireResults();
  wireAccount();
  try {
    await loadCatalog();
  } catch (error) {
    say(error.message);
    return;
  }
  const params = new URLSearchParams(window.location.search);
  if (params.get("checkout") === "success") say("Thank you! Your credits arrive as soon as Stripe confirms the payment.", "ok");
  if (!signedIn.get()) showLanding();
  else {
    try {
      state.account = await api("/v1/account");
      await showApp();
    } catch (error) {
      if (error.status === 401) {
        signedIn.set(false); // the session ended (expired, or signed out elsewhere)
        showLanding();
      } else say(error.message);
    }
  }
  document.body.dataset.ready = "true";
}

start();
