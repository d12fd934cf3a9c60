// Usage: objects and bytes per bucket and in all, from the counters the
// server keeps (GET /?usage, signed and decided as ListBuckets is), and
// the server's version; the answer itself says the S3 front is up.
import { h, showError, size } from "./dom.js";

export async function renderUsage({ s3, view }) {
  const error = h("p", { class: "error", id: "usage-error", hidden: true });
  const tbody = h("tbody");
  const cards = h("div", { class: "cards", id: "usage-total" });
  view.append(h("h1", {}, "Usage"), cards, error,
    h("table", { id: "usage-list" }, h("thead", {}, h("tr", {}, h("th", {}, "Bucket"),
      h("th", { class: "num" }, "Objects"), h("th", { class: "num" }, "Bytes"),
      h("th", { class: "num" }, "Versions"), h("th", { class: "num" }, "All versions' bytes"))), tbody));
  try {
    const report = await s3.usage();
    for (const b of report.buckets) {
      tbody.append(h("tr", { "data-bucket": b.name }, h("td", {}, b.name), h("td", { class: "num" }, b.objects),
        h("td", { class: "num" }, size(b.objectBytes)), h("td", { class: "num" }, b.versions),
        h("td", { class: "num" }, size(b.bytes))));
    }
    const t = report.total;
    cards.append(
      h("div", { class: "card" }, h("b", {}, t.buckets), "buckets"),
      h("div", { class: "card" }, h("b", {}, t.objects), "objects"),
      h("div", { class: "card" }, h("b", {}, size(t.objectBytes)), "stored"),
      h("div", { class: "card" }, h("b", {}, size(t.bytes)), "with every version"),
      h("div", { class: "card", id: "server-version" }, h("b", {}, `cloudserver ${report.server.version}`),
        `status ${report.server.status}`));
  } catch (err) { showError(error, err); }
  await renderHealth(view);
}

/** The deep healthcheck (each data location, the KMS), where the server's
 * healthChecks.allowFrom lets this client ask (loopback by default). */
async function renderHealth(view) {
  const box = h("div", { id: "health" }, h("h2", {}, "Health"));
  view.append(box);
  let resp;
  try {
    resp = await fetch("/_/healthcheck/deep", { credentials: "omit", cache: "no-store" });
  } catch (err) {
    box.append(h("p", { class: "error" }, `unreachable: ${err.message}`));
    return;
  }
  if (resp.status === 403) {
    box.append(h("p", { class: "muted" }, "Not shown to this address (config.json healthChecks.allowFrom)."));
    return;
  }
  let report = {};
  try { report = await resp.json(); } catch { /* shown as the status alone */ }
  box.append(h("p", { class: resp.ok ? "ok" : "error", id: "health-status" },
    resp.ok ? "every location answers" : `HTTP ${resp.status}: a location or the KMS fails`));
  const tbody = h("tbody");
  for (const [name, entry] of Object.entries(report)) {
    tbody.append(h("tr", { "data-location": name }, h("td", {}, name),
      h("td", { class: entry.code === 200 ? "ok" : "error" }, String(entry.code)),
      h("td", {}, entry.message || "")));
  }
  box.append(h("table", { id: "health-list" }, h("thead", {}, h("tr", {}, h("th", {}, "Location or KMS"),
    h("th", {}, "Code"), h("th", {}, "Message"))), tbody));
}
