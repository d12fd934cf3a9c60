// The console's shell: sign-in, the idle sign-out, hash routes, buckets.
import { S3 } from "./s3.js";
import { h, clear, showError, when, button } from "./dom.js";
import { renderObjects } from "./objects.js";
import { renderSettings } from "./settings.js";
import { renderUsage } from "./usage.js";

export const IDLE_MS = 30 * 60 * 1000;

const $ = (id) => document.getElementById(id);
let s3 = null;
let lastActive = Date.now();
let idleTimer = null;

function signOut(reason) {
  if (s3) s3.forget();
  s3 = null;
  clearInterval(idleTimer);
  clear($("app-view")).hidden = true;
  $("nav").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  $("secret-key").value = "";
  $("signin-view").hidden = false;
  showError($("signin-error"), reason ? { message: reason } : null);
  $("signin-error").hidden = !reason;
  if (location.hash) history.replaceState(null, "", location.pathname);
}

async function signIn(event) {
  event.preventDefault();
  const accessKey = $("access-key").value.trim();
  const candidate = new S3(accessKey, $("secret-key").value);
  $("secret-key").value = "";
  $("signin-btn").disabled = true;
  try {
    const { owner } = await candidate.listBuckets(); // proves the keys
    s3 = candidate;
    $("signin-error").hidden = true;
    $("signin-view").hidden = true;
    $("app-view").hidden = false;
    $("nav").hidden = false;
    $("signout").hidden = false;
    $("who").textContent = owner ? `${owner} (${accessKey})` : accessKey;
    lastActive = Date.now();
    idleTimer = setInterval(idleCheck, 5000);
    route();
  } catch (err) {
    candidate.forget();
    showError($("signin-error"), err);
  } finally {
    $("signin-btn").disabled = false;
  }
}

/** Navigate: #/ buckets, #/b/<bucket>/<prefix>, #/s/<bucket>, #/usage. */
export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (!s3) return;
  const view = clear($("app-view"));
  const hash = location.hash.replace(/^#/, "") || "/";
  const ctx = { s3, view, go };
  const [, kind, bucket, ...rest] = hash.split("/");
  const decode = (part) => { try { return decodeURIComponent(part); } catch { return ""; } };
  const name = bucket ? decode(bucket) : "";
  if (kind === "b" && name) renderObjects(ctx, name, decode(rest.join("/")));
  else if (kind === "s" && name) renderSettings(ctx, name);
  else if (kind === "usage") renderUsage(ctx);
  else renderBuckets(ctx);
}

async function renderBuckets({ s3: api, view }) {
  const error = h("p", { class: "error", id: "buckets-error", hidden: true });
  const nameInput = h("input", { id: "new-bucket-name", placeholder: "bucket-name", spellcheck: "false" });
  const locInput = h("input", { id: "new-bucket-location", placeholder: "location (optional)" });
  const versioned = h("input", { type: "checkbox", id: "new-bucket-versioning" });
  const locked = h("input", { type: "checkbox", id: "new-bucket-lock" });
  const tbody = h("tbody");
  const create = async (e) => {
    e.preventDefault();
    try {
      await api.createBucket(nameInput.value.trim(), {
        location: locInput.value.trim(), versioning: versioned.checked, objectLock: locked.checked,
      });
      nameInput.value = "";
      error.hidden = true;
      await refresh();
    } catch (err) { showError(error, err); }
  };
  const refresh = async () => {
    const { buckets } = await api.listBuckets();
    clear(tbody);
    for (const b of buckets) {
      const enc = encodeURIComponent(b.name);
      tbody.append(h("tr", { "data-bucket": b.name },
        h("td", {}, h("a", { href: `#/b/${enc}/`, class: "bucket-link" }, b.name)),
        h("td", {}, when(b.created)),
        h("td", {}, h("span", { class: "actions" },
          h("a", { href: `#/s/${enc}`, class: "settings-link" }, "Settings"), " ",
          button("Delete", async () => {
            if (!confirm(`Delete the bucket ${b.name}? It must be empty.`)) return;
            try { await api.deleteBucket(b.name); error.hidden = true; await refresh(); }
            catch (err) { showError(error, err); }
          }, { class: "danger delete-bucket" })))));
    }
    if (!buckets.length) tbody.append(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No buckets yet.")));
  };
  view.append(
    h("h1", {}, "Buckets"),
    h("form", { class: "toolbar", id: "create-bucket", onsubmit: create },
      nameInput, locInput,
      h("label", {}, versioned, " versioning"),
      h("label", {}, locked, " object lock"),
      h("button", { type: "submit", class: "primary", id: "create-bucket-btn" }, "Create bucket")),
    error,
    h("table", { id: "bucket-list" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Created"), h("th", {}, ""))), tbody));
  try { await refresh(); } catch (err) { showError(error, err); }
}

const IDLE_MESSAGE = "Signed out after 30 minutes without activity.";

/** Signed out once idle too long; checked by a timer and on every action
 * (timers of a background tab are throttled: the first action still finds it). */
function idleCheck() {
  if (s3 && Date.now() - lastActive > IDLE_MS) { signOut(IDLE_MESSAGE); return true; }
  return false;
}

function touch(event) {
  if (idleCheck() && event.cancelable) { event.preventDefault(); event.stopPropagation(); return; }
  lastActive = Date.now();
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut(""));
  window.addEventListener("hashchange", route);
  for (const ev of ["click", "keydown", "dragover", "scroll"]) document.addEventListener(ev, touch, true);
});
