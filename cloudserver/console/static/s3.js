// The S3 calls of the console: each one an ordinary signed request to this
// origin, decided by the server as any client's.
import { UNSIGNED, base64, hex, makeSigner, sha256, uriEncode, canonicalQuery } from "./sigv4.js";
import { md5Hex } from "./md5.js";

export class S3Error extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || `HTTP${status}`;
  }
}

export const PART_SIZE = 8 * 1024 * 1024;
const MAX_PARTS = 10000;
export const MULTIPART_OVER = 16 * 1024 * 1024;

const parser = new DOMParser();

function parseXml(text) {
  // only what looks like XML: a failed parse makes an element with an inline
  // style, which the page's CSP refuses (and reports)
  if (!text || !text.trimStart().startsWith("<")) return null;
  const doc = parser.parseFromString(text, "application/xml");
  return doc.getElementsByTagName("parsererror").length ? null : doc;
}

/** The text of the first ``name`` element under ``node``. */
export function text(node, name) {
  const found = node && node.getElementsByTagName(name)[0];
  return found ? found.textContent : "";
}

export function all(node, name) {
  return node ? Array.from(node.getElementsByTagName(name)) : [];
}

/** Direct children named ``name`` (ListBucketResult/Contents, not nested ones). */
function children(node, name) {
  return node ? Array.from(node.children).filter((c) => c.localName === name) : [];
}

function errorOf(status, body) {
  const doc = parseXml(body);
  if (doc) return new S3Error(status, text(doc, "Code"), text(doc, "Message"));
  return new S3Error(status, "", body.slice(0, 200));
}

export function objectPath(bucket, key) {
  let path = "/";
  if (bucket) path += uriEncode(bucket);
  if (key !== undefined && key !== null) path += "/" + uriEncode(key, true);
  return path;
}

export class S3 {
  constructor(accessKey, secretKey) {
    this.signer = makeSigner(accessKey, secretKey, location.host);
    this.accessKey = accessKey;
    //: the server's clock less this one's (ms): a signature's time is the server's
    this.skew = 0;
  }

  now() { return new Date(Date.now() + this.skew); }

  forget() { this.signer.forget(); }

  /** One signed request; resolves {status, headers, body, xml}, rejects S3Error. */
  async call({ method = "GET", bucket, key, query = {}, headers = {}, body = null,
    signBody = true }, retried = false) {
    const path = objectPath(bucket, key);
    let payloadHash = UNSIGNED;
    if (body !== null && signBody) payloadHash = hex(await sha256(body));
    else if (body === null) payloadHash = hex(await sha256(""));
    const signed = await this.signer.sign({ method, path, query, headers, payloadHash, now: this.now() });
    const qs = canonicalQuery(query);
    const resp = await fetch(path + (qs ? "?" + qs : ""), {
      method, headers: signed, body, credentials: "omit", cache: "no-store",
      redirect: "error",
    });
    const textBody = method === "HEAD" ? "" : await resp.text();
    if (!resp.ok) {
      const err = method === "HEAD" ? new S3Error(resp.status, `HTTP${resp.status}`, resp.statusText)
        : errorOf(resp.status, textBody);
      const serverDate = Date.parse(resp.headers.get("date") || "");
      if (err.code === "RequestTimeTooSkewed" && !retried && !isNaN(serverDate)) {
        this.skew = serverDate - Date.now(); // this computer's clock is off: sign in server time
        return this.call({ method, bucket, key, query, headers, body, signBody }, true);
      }
      throw err;
    }
    return { status: resp.status, headers: resp.headers, body: textBody, xml: parseXml(textBody) };
  }

  /** A PUT with upload progress (XHR: fetch reports none); resolves the headers. */
  async upload({ bucket, key, query = {}, headers = {}, blob, onProgress }) {
    const path = objectPath(bucket, key);
    const signed = await this.signer.sign({ method: "PUT", path, query, headers, payloadHash: UNSIGNED,
      now: this.now() });
    const qs = canonicalQuery(query);
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", path + (qs ? "?" + qs : ""));
      for (const [k, v] of Object.entries(signed)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded); };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve({ etag: xhr.getResponseHeader("ETag") });
        else reject(errorOf(xhr.status, xhr.responseText || ""));
      };
      xhr.onerror = () => reject(new S3Error(0, "NetworkError", "the upload was cut"));
      xhr.send(blob);
    });
  }

  presign(bucket, key, expires, query = {}) {
    const path = objectPath(bucket, key);
    return this.signer.presign({ path, expires, query, now: this.now() }).then((qs) => `${location.origin}${path}?${qs}`);
  }

  /** GET /?usage (this server's own): the caller's buckets' counters, the version. */
  async usage() {
    const { body } = await this.call({ query: { usage: "" } });
    return JSON.parse(body);
  }

  // --- buckets -------------------------------------------------------
  async listBuckets() {
    const { xml } = await this.call({});
    this.ownerId = text(xml, "ID");
    return {
      owner: text(xml, "DisplayName"),
      buckets: all(xml, "Bucket").map((b) => ({ name: text(b, "Name"), created: text(b, "CreationDate") })),
    };
  }

  async createBucket(name, { location = "", objectLock = false, versioning = false } = {}) {
    const headers = objectLock ? { "x-amz-bucket-object-lock-enabled": "true" } : {};
    let body = null;
    if (location) {
      body = `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`
        + `<LocationConstraint>${escapeXml(location)}</LocationConstraint></CreateBucketConfiguration>`;
    }
    await this.call({ method: "PUT", bucket: name, headers, body });
    if (versioning && !objectLock) await this.putVersioning(name, "Enabled");
  }

  deleteBucket(name) { return this.call({ method: "DELETE", bucket: name }); }

  async location(bucket) {
    const { xml } = await this.call({ bucket, query: { location: "" } });
    return text(xml, "LocationConstraint");
  }

  async versioning(bucket) {
    const { xml } = await this.call({ bucket, query: { versioning: "" } });
    return text(xml, "Status");
  }

  putVersioning(bucket, status) {
    const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`
      + `<Status>${status}</Status></VersioningConfiguration>`;
    return this.call({ method: "PUT", bucket, query: { versioning: "" }, body });
  }

  /** A sub-resource's document as text ("" when the bucket has none). */
  async getSetting(bucket, name, missing) {
    try {
      return (await this.call({ bucket, query: { [name]: "" } })).body;
    } catch (err) {
      if (missing.includes(err.code)) return "";
      throw err;
    }
  }

  /** PUT a sub-resource (with the body's SHA-256 as its checksum: some need one). */
  async putSetting(bucket, name, body, contentType) {
    const digest = base64(await sha256(body));
    const headers = { "x-amz-checksum-sha256": digest };
    if (contentType) headers["content-type"] = contentType;
    return this.call({ method: "PUT", bucket, query: { [name]: "" }, headers, body });
  }

  deleteSetting(bucket, name) {
    return this.call({ method: "DELETE", bucket, query: { [name]: "" } });
  }

  // --- objects -------------------------------------------------------
  async list(bucket, { prefix = "", delimiter = "/", token = "", maxKeys = 200 } = {}) {
    const query = { "list-type": "2", prefix, delimiter, "max-keys": String(maxKeys) };
    if (token) query["continuation-token"] = token;
    const { xml } = await this.call({ bucket, query });
    const root = xml.documentElement;
    return {
      folders: children(root, "CommonPrefixes").map((p) => text(p, "Prefix")),
      objects: children(root, "Contents").map((c) => ({
        key: text(c, "Key"), size: Number(text(c, "Size")), modified: text(c, "LastModified"),
        etag: text(c, "ETag"),
      })),
      next: text(root, "IsTruncated") === "true" ? text(root, "NextContinuationToken") : "",
    };
  }

  async listVersions(bucket, { prefix = "", delimiter = "/", keyMarker = "", versionMarker = "", maxKeys = 200 } = {}) {
    const query = { versions: "", prefix, delimiter, "max-keys": String(maxKeys) };
    if (keyMarker) query["key-marker"] = keyMarker;
    if (versionMarker) query["version-id-marker"] = versionMarker;
    const { xml } = await this.call({ bucket, query });
    const root = xml.documentElement;
    const entry = (c, marker) => ({
      key: text(c, "Key"), versionId: text(c, "VersionId"), latest: text(c, "IsLatest") === "true",
      size: marker ? 0 : Number(text(c, "Size")), modified: text(c, "LastModified"), marker,
    });
    const versions = Array.from(root.children)
      .filter((c) => c.localName === "Version" || c.localName === "DeleteMarker")
      .map((c) => entry(c, c.localName === "DeleteMarker"));
    return {
      folders: children(root, "CommonPrefixes").map((p) => text(p, "Prefix")),
      versions,
      nextKey: text(root, "IsTruncated") === "true" ? text(root, "NextKeyMarker") : "",
      nextVersion: text(root, "NextVersionIdMarker"),
    };
  }

  async head(bucket, key, versionId) {
    const query = versionId ? { versionId } : {};
    const { headers } = await this.call({ method: "HEAD", bucket, key, query });
    return headers;
  }

  async tags(bucket, key, versionId) {
    const query = { tagging: "" };
    if (versionId) query.versionId = versionId;
    const { xml } = await this.call({ bucket, key, query });
    return all(xml, "Tag").map((t) => [text(t, "Key"), text(t, "Value")]);
  }

  putTags(bucket, key, pairs) {
    const tags = pairs.map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`).join("");
    const body = `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${tags}</TagSet></Tagging>`;
    return this.call({ method: "PUT", bucket, key, query: { tagging: "" }, body });
  }

  deleteObject(bucket, key, versionId) {
    const query = versionId ? { versionId } : {};
    return this.call({ method: "DELETE", bucket, key, query });
  }

  copy(srcBucket, srcKey, dstBucket, dstKey) {
    const source = "/" + uriEncode(srcBucket) + "/" + uriEncode(srcKey, true);
    return this.call({ method: "PUT", bucket: dstBucket, key: dstKey, headers: { "x-amz-copy-source": source } });
  }

  async createFolder(bucket, prefix) {
    return this.call({ method: "PUT", bucket, key: prefix, body: "" });
  }

  /** This account's newest unfinished multipart upload of ``key``, if any. */
  async findUpload(bucket, key) {
    const { xml } = await this.call({ bucket, query: { uploads: "", prefix: key } });
    const mine = all(xml, "Upload").filter((u) => text(u, "Key") === key
      && (!this.ownerId || text(u.getElementsByTagName("Initiator")[0], "ID") === this.ownerId));
    mine.sort((a, b) => (text(a, "Initiated") < text(b, "Initiated") ? 1 : -1));
    return mine.length ? text(mine[0], "UploadId") : "";
  }

  /** The parts an upload holds: part number -> {etag, size}. */
  async listParts(bucket, key, uploadId) {
    const parts = new Map();
    let marker = "";
    for (;;) {
      const query = { uploadId };
      if (marker) query["part-number-marker"] = marker;
      const { xml } = await this.call({ bucket, key, query });
      for (const p of all(xml, "Part")) {
        parts.set(Number(text(p, "PartNumber")), { etag: text(p, "ETag"), size: Number(text(p, "Size")) });
      }
      if (text(xml, "IsTruncated") !== "true") return parts;
      marker = text(xml, "NextPartNumberMarker");
    }
  }

  /** Upload a File: one PUT, or a multipart upload.  A multipart upload
   * left unfinished (the page was closed or reloaded, the network cut)
   * resumes: the parts already there whose MD5 (their ETag) is the same
   * slice's are kept, the rest are sent. */
  async putFile(bucket, key, file, onProgress, onNote = () => {}) {
    const type = file.type || "application/octet-stream";
    if (file.size <= MULTIPART_OVER) {
      await this.upload({ bucket, key, blob: file, headers: { "content-type": type }, onProgress });
      return;
    }
    const mib = 1024 * 1024;
    const partSize = Math.max(PART_SIZE, Math.ceil(file.size / MAX_PARTS / mib) * mib);
    let uploadId = "";
    let existing = new Map();
    try {
      uploadId = await this.findUpload(bucket, key);
      if (uploadId) existing = await this.listParts(bucket, key, uploadId);
    } catch { uploadId = ""; existing = new Map(); }
    if (!uploadId) {
      const { xml } = await this.call({ method: "POST", bucket, key, query: { uploads: "" },
        headers: { "content-type": type } });
      uploadId = text(xml, "UploadId");
    }
    const done = [];
    let kept = 0;
    try {
      for (let n = 1, offset = 0; offset < file.size; n++, offset += partSize) {
        const blob = file.slice(offset, Math.min(offset + partSize, file.size));
        const there = existing.get(n);
        let etag = "";
        if (there && there.size === blob.size
            && there.etag === `"${md5Hex(new Uint8Array(await blob.arrayBuffer()))}"`) {
          etag = there.etag;
          kept += 1;
          onNote(`resumed: ${kept} part(s) already uploaded`);
          if (onProgress) onProgress(offset + blob.size);
        } else {
          ({ etag } = await this.upload({ bucket, key, blob,
            query: { partNumber: String(n), uploadId },
            onProgress: (loaded) => onProgress && onProgress(offset + loaded) }));
        }
        done.push(`<Part><PartNumber>${n}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`);
      }
      const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${done.join("")}</CompleteMultipartUpload>`;
      const result = await this.call({ method: "POST", bucket, key, query: { uploadId }, body });
      if (result.xml && result.xml.documentElement.localName === "Error") {
        throw new S3Error(200, text(result.xml, "Code"), text(result.xml, "Message"));
      }
    } catch (err) {
      // a cut connection leaves the upload to resume; a refusal ends it
      if (err.status) await this.call({ method: "DELETE", bucket, key, query: { uploadId } }).catch(() => {});
      throw err;
    }
  }
}

export function escapeXml(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" }[c]));
}
