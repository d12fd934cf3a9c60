// One bucket's objects: folders by prefix and "/", pages, upload (drop or
// picker, multipart for large files), download, share, details, copy/move,
// delete, and the versions of a versioned bucket.
import { h, clear, showError, size, when, button } from "./dom.js";

const SHARE_EXPIRIES = [["1 hour", 3600], ["1 day", 86400], ["7 days", 604800]];

function crumbs(bucket, prefix) {
  const out = [h("a", { href: "#/" }, "Buckets"), " / ",
    h("a", { href: `#/b/${encodeURIComponent(bucket)}/` }, bucket)];
  let acc = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    acc += part + "/";
    out.push(" / ", h("a", { href: `#/b/${encodeURIComponent(bucket)}/${encodeURIComponent(acc)}` }, part));
  }
  return h("div", { class: "crumbs", id: "crumbs" }, out);
}

export async function renderObjects({ s3, view, go }, bucket, prefix) {
  const error = h("p", { class: "error", id: "objects-error", hidden: true });
  const status = h("p", { class: "ok", id: "objects-status" });
  const tbody = h("tbody");
  const more = button("More…", () => load(false), { id: "more", hidden: true });
  const progress = h("progress", { id: "upload-progress", max: 100, value: 0, hidden: true });
  const progressText = h("span", { id: "upload-progress-text" });
  const panel = h("div", { id: "details" });
  const fileInput = h("input", { type: "file", id: "file-input", multiple: true });
  const showVersions = h("input", { type: "checkbox", id: "show-versions" });
  const versionsLabel = h("label", { hidden: true, id: "versions-label" }, showVersions, " show versions");
  const selectedVersions = new Set();
  let token = "";
  let keyMarker = "";
  let versionMarker = "";

  const fail = (err) => showError(error, err);
  const done = (msg) => { error.hidden = true; status.textContent = msg; };

  async function upload(files) {
    const list = Array.from(files);
    const total = list.reduce((n, f) => n + f.size, 0) || 1;
    let before = 0;
    let note = "";
    progress.hidden = false;
    progress.value = 0;
    try {
      for (const file of list) {
        await s3.putFile(bucket, prefix + file.name, file, (loaded) => {
          progress.value = Math.floor(((before + loaded) * 100) / total);
          progressText.textContent = ` ${progress.value}% ${file.name} ${note}`;
        }, (text) => { note = `(${text})`; });
        before += file.size;
      }
      progress.value = 100;
      progressText.textContent = ` 100% uploaded ${list.length} file(s) ${note}`;
      await load(true);
    } catch (err) { fail(err); }
  }

  async function share(key, versionId, select, out) {
    const query = versionId ? { versionId } : {};
    out.value = await s3.presign(bucket, key, Number(select.value), query);
    out.select();
  }

  function closeDetails() {
    clear(panel);
    panel.parentElement.classList.remove("with-details");
  }

  async function details(key, versionId) {
    clear(panel);
    panel.parentElement.classList.add("with-details");
    const box = h("div", { class: "panel", id: "object-details" },
      h("div", { class: "panel-head" }, h("h2", {}, key),
        button("Close", closeDetails, { id: "close-details" })));
    panel.append(box);
    try {
      const headers = await s3.head(bucket, key, versionId);
      const meta = [];
      for (const name of ["content-type", "content-length", "etag", "last-modified",
        "x-amz-version-id", "x-amz-server-side-encryption", "x-amz-storage-class",
        "cache-control", "content-disposition", "content-encoding",
        "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date"]) {
        if (headers.get(name)) meta.push([name, headers.get(name)]);
      }
      headers.forEach((v, k) => { if (k.startsWith("x-amz-meta-")) meta.push([k, v]); });
      box.append(h("h2", {}, "Metadata"), h("dl", { id: "object-metadata" },
        meta.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
      const tags = await s3.tags(bucket, key, versionId);
      const tagText = h("textarea", { id: "object-tags", rows: 3 },
        tags.map(([k, v]) => `${k}=${v}`).join("\n"));
      box.append(h("h2", {}, "Tags (key=value, one a line)"), tagText,
        button("Save tags", async () => {
          const pairs = tagText.value.split("\n").map((l) => l.trim()).filter(Boolean)
            .map((l) => [l.split("=")[0], l.split("=").slice(1).join("=")]);
          try { await s3.putTags(bucket, key, pairs); done("Tags saved."); } catch (err) { fail(err); }
        }, { id: "save-tags" }));
      const select = h("select", { id: "share-expiry" },
        SHARE_EXPIRIES.map(([label, secs]) => h("option", { value: secs }, label)));
      const custom = h("input", { type: "number", id: "share-seconds", min: 1, max: 604800, placeholder: "seconds" });
      custom.addEventListener("input", () => {
        if (!custom.value) return;
        let opt = select.querySelector("option[data-custom]");
        if (!opt) { opt = h("option", { "data-custom": "1" }); select.append(opt); }
        opt.value = custom.value;
        opt.textContent = `${custom.value} s`;
        select.value = custom.value;
      });
      const out = h("input", { class: "share", id: "share-url", readonly: true });
      box.append(h("h2", {}, "Share link"), h("div", { class: "toolbar" }, "expires in ", select,
        " or ", custom, button("Make link", () => share(key, versionId, select, out).catch(fail), { id: "make-share" })), out);
      const target = h("input", { id: "copy-target", value: `${bucket}/${key}`, size: 50 });
      const move = async (deleting) => {
        const [dstBucket, ...parts] = target.value.split("/");
        try {
          await s3.copy(bucket, key, dstBucket, parts.join("/"));
          if (deleting) await s3.deleteObject(bucket, key);
          done(deleting ? "Moved." : "Copied.");
          await load(true);
        } catch (err) { fail(err); }
      };
      box.append(h("h2", {}, "Copy or move to (bucket/key)"), h("div", { class: "toolbar" }, target,
        button("Copy", () => move(false), { id: "copy-btn" }),
        button("Move", () => move(true), { id: "move-btn" })));
    } catch (err) { fail(err); }
  }

  async function download(key, versionId) {
    const name = key.split("/").pop() || "download";
    const query = { "response-content-disposition": `attachment; filename="${name.replace(/["\\]/g, "_")}"` };
    if (versionId) query.versionId = versionId;
    const url = await s3.presign(bucket, key, 300, query);
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  }

  function objectRow(o) {
    const name = o.key.slice(prefix.length) || "(this folder's marker)";
    const versionCell = showVersions.checked ? h("td", { class: "muted" },
      o.marker ? "delete marker " : "", o.versionId, o.latest ? " (latest)" : "") : null;
    const pick = showVersions.checked ? h("input", { type: "checkbox", class: "pick-version",
      onchange: (e) => { const id = `${o.key}\n${o.versionId}`; if (e.target.checked) selectedVersions.add(id); else selectedVersions.delete(id); } }) : null;
    return h("tr", { "data-key": o.key, "data-version": o.versionId || null },
      h("td", {}, pick, " ", name),
      versionCell,
      h("td", { class: "num" }, o.marker ? "" : size(o.size)),
      h("td", {}, when(o.modified)),
      h("td", {}, o.marker ? "" : h("span", { class: "actions" },
        button("Download", () => download(o.key, o.versionId).catch(fail), { class: "download" }),
        button("Details", () => details(o.key, o.versionId), { class: "info" }),
        button("Delete", async () => {
          const what = o.versionId ? `${name} (version ${o.versionId})` : name;
          if (!confirm(`Delete ${what}?`)) return;
          try { await s3.deleteObject(bucket, o.key, o.versionId); done(`Deleted ${what}.`); await load(true); } catch (err) { fail(err); }
        }, { class: "danger delete-object" }))));
  }

  async function load(first) {
    try {
      if (first) { clear(tbody); token = keyMarker = versionMarker = ""; selectedVersions.clear(); }
      let folders, objects, truncated;
      if (showVersions.checked) {
        const page = await s3.listVersions(bucket, { prefix, keyMarker, versionMarker });
        folders = page.folders; objects = page.versions;
        keyMarker = page.nextKey; versionMarker = page.nextVersion; truncated = !!page.nextKey;
      } else {
        const page = await s3.list(bucket, { prefix, token });
        folders = page.folders; objects = page.objects; token = page.next; truncated = !!page.next;
      }
      for (const f of folders) {
        tbody.append(h("tr", { "data-folder": f, class: "folder" },
          h("td", {}, h("a", { href: `#/b/${encodeURIComponent(bucket)}/${encodeURIComponent(f)}`, class: "folder-link" },
            f.slice(prefix.length))), showVersions.checked ? h("td") : null, h("td"), h("td"), h("td")));
      }
      for (const o of objects) tbody.append(objectRow(o));
      if (first && !folders.length && !objects.length) {
        tbody.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "Nothing here yet.")));
      }
      more.hidden = !truncated;
    } catch (err) { fail(err); }
  }

  const drop = h("div", { class: "drop", id: "drop-zone" }, "Drop files here to upload them into this folder, or ", fileInput);
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files); });
  fileInput.addEventListener("change", async () => {
    if (!fileInput.files.length) return;
    await upload(fileInput.files);
    fileInput.value = ""; // the same file may be picked again (a new version)
  });
  showVersions.addEventListener("change", () => {
    table.replaceWith(table = makeTable());
    closeDetails();
    load(true);
  });
  const folderName = h("input", { id: "new-folder", placeholder: "new folder" });
  const deleteSelected = button("Delete selected versions", async () => {
    if (!selectedVersions.size || !confirm(`Delete ${selectedVersions.size} version(s)?`)) return;
    try {
      for (const id of selectedVersions) { const [key, version] = id.split("\n"); await s3.deleteObject(bucket, key, version); }
      done(`Deleted ${selectedVersions.size} version(s).`);
      await load(true);
    } catch (err) { fail(err); }
  }, { class: "danger", id: "delete-versions" });

  const makeTable = () => h("table", { id: "object-list" }, h("thead", {}, h("tr", {}, h("th", {}, "Name"),
    showVersions.checked ? h("th", {}, "Version") : null, h("th", { class: "num" }, "Size"),
    h("th", {}, "Modified"), h("th", {}, ""))), tbody);
  let table = makeTable();

  view.append(h("h1", {}, bucket), crumbs(bucket, prefix),
    h("div", { class: "toolbar" },
      h("a", { href: `#/s/${encodeURIComponent(bucket)}`, id: "bucket-settings" }, "Bucket settings"),
      button("Refresh", () => load(true), { id: "refresh" }),
      folderName, button("Create folder", async () => {
        const name = folderName.value.trim().replace(/\/+$/, "");
        if (!name) return;
        try { await s3.createFolder(bucket, `${prefix}${name}/`); go(`#/b/${encodeURIComponent(bucket)}/${encodeURIComponent(prefix + name + "/")}`); } catch (err) { fail(err); }
      }, { id: "create-folder" }),
      versionsLabel, deleteSelected),
    drop, h("div", {}, progress, progressText), error, status,
    h("div", { class: "browse", id: "browse" }, h("div", {}, table, more), panel));
  deleteSelected.hidden = true;
  showVersions.addEventListener("change", () => { deleteSelected.hidden = !showVersions.checked; });
  try {
    const state = await s3.versioning(bucket);
    versionsLabel.hidden = !state;
  } catch { /* a caller without GetBucketVersioning still browses */ }
  await load(true);
}
