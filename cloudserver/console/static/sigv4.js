// Signature Version 4 in the browser: the secret key stays in this
// module's closure (the tab's memory), never in storage or a cookie.
// WebCrypto where the page is a secure context (https, localhost); the
// small SHA-256 below where it is not (plain http to another host).

const enc = new TextEncoder();
const subtle = (globalThis.crypto && globalThis.crypto.subtle) || null;
/** Signing with WebCrypto (a secure context), or the SHA-256 below. */
export const WEBCRYPTO = subtle !== null;

export const UNSIGNED = "UNSIGNED-PAYLOAD";
export const REGION = "us-east-1";

function toBytes(data) {
  if (data === null || data === undefined) return new Uint8Array(0);
  if (typeof data === "string") return enc.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError("bytes or a string");
}

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function base64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

// --- SHA-256 and HMAC without WebCrypto (FIPS 180-4) -------------------
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
  0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
  0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
  0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
  0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
  0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2]);

export function sha256Sync(data) {
  const msg = toBytes(data);
  const len = msg.length;
  const padded = new Uint8Array(((len + 9 + 63) >> 6) << 6);
  padded.set(msg);
  padded[len] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(len / 0x20000000));
  view.setUint32(padded.length - 4, (len << 3) >>> 0);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g))
        + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]);
  return out;
}

function hmacSync(key, data) {
  let k = toBytes(key);
  if (k.length > 64) k = sha256Sync(k);
  const inner = new Uint8Array(64 + toBytes(data).length);
  const outer = new Uint8Array(64 + 32);
  for (let i = 0; i < 64; i++) {
    inner[i] = (k[i] || 0) ^ 0x36;
    outer[i] = (k[i] || 0) ^ 0x5c;
  }
  inner.set(toBytes(data), 64);
  outer.set(sha256Sync(inner), 64);
  return sha256Sync(outer);
}

// --- the async primitives (WebCrypto when there is one) ---------------
export async function sha256(data) {
  if (subtle) return new Uint8Array(await subtle.digest("SHA-256", toBytes(data)));
  return sha256Sync(data);
}

async function hmac(key, data) {
  if (!subtle) return hmacSync(key, data);
  const k = await subtle.importKey("raw", toBytes(key), { name: "HMAC", hash: "SHA-256" },
    false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, toBytes(data)));
}

// --- SigV4 -------------------------------------------------------------
/** RFC 3986 encoding as SigV4 wants it ('/' kept in paths). */
export function uriEncode(text, keepSlash = false) {
  const out = encodeURIComponent(text).replace(/[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return keepSlash ? out.replace(/%2F/g, "/") : out;
}

export function canonicalQuery(query) {
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k), uriEncode(v === null || v === undefined ? "" : String(v))])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join("&");
}

function amzDate(now) {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

async function signingKey(secret, day) {
  let key = await hmac("AWS4" + secret, day);
  for (const part of [REGION, "s3", "aws4_request"]) key = await hmac(key, part);
  return key;
}

/** A Signer holds one account's keys; nothing else in the page sees the secret. */
export function makeSigner(accessKey, secretKey, host) {
  let secret = secretKey;

  async function signature(stringParts, day) {
    const key = await signingKey(secret, day);
    return hex(await hmac(key, stringParts));
  }

  async function stringToSign(canonical, stamp) {
    const day = stamp.slice(0, 8);
    const scope = `${day}/${REGION}/s3/aws4_request`;
    return { scope, day, text: ["AWS4-HMAC-SHA256", stamp, scope, hex(await sha256(canonical))].join("\n") };
  }

  return {
    accessKey,
    forget() { secret = null; },
    /** Headers (Authorization, x-amz-date, x-amz-content-sha256) for a request. */
    async sign({ method, path, query = {}, headers = {}, payloadHash = UNSIGNED, now = new Date() }) {
      if (secret === null) throw new Error("signed out");
      const stamp = amzDate(now);
      const all = { ...headers, host, "x-amz-date": stamp, "x-amz-content-sha256": payloadHash };
      const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
      const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), v]));
      const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim().replace(/\s+/g, " ")}\n`).join("");
      const signed = names.join(";");
      const canonical = [method, path, canonicalQuery(query), canonicalHeaders, signed, payloadHash].join("\n");
      const sts = await stringToSign(canonical, stamp);
      const sig = await signature(sts.text, sts.day);
      const out = { ...headers, "x-amz-date": stamp, "x-amz-content-sha256": payloadHash };
      out.Authorization = `AWS4-HMAC-SHA256 Credential=${accessKey}/${sts.scope}, SignedHeaders=${signed}, Signature=${sig}`;
      return out;
    },
    /** A presigned URL's query (host signed only, payload unsigned). */
    async presign({ method = "GET", path, query = {}, expires = 3600, now = new Date() }) {
      if (secret === null) throw new Error("signed out");
      const stamp = amzDate(now);
      const q = {
        ...query,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": `${accessKey}/${stamp.slice(0, 8)}/${REGION}/s3/aws4_request`,
        "X-Amz-Date": stamp,
        "X-Amz-Expires": String(expires),
        "X-Amz-SignedHeaders": "host",
      };
      const canonical = [method, path, canonicalQuery(q), `host:${host}\n`, "host", UNSIGNED].join("\n");
      const sts = await stringToSign(canonical, stamp);
      q["X-Amz-Signature"] = await signature(sts.text, sts.day);
      return canonicalQuery(q);
    },
  };
}
