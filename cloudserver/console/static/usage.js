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
}
