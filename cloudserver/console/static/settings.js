// A bucket's settings, each the S3 sub-resource's own document: shown as
// the server returns it, saved as typed, the server's error shown as is.
import { h, showError, button } from "./dom.js";

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

//: name, sub-resource, the codes meaning "none set", an example to start from
const SETTINGS = [
  ["Policy (JSON)", "policy", ["NoSuchBucketPolicy"], (b) => JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "PublicRead", Effect: "Allow", Principal: "*", Action: "s3:GetObject",
      Resource: `arn:aws:s3:::${b}/*` }],
  }, null, 2)],
  ["CORS", "cors", ["NoSuchCORSConfiguration"], () => `<CORSConfiguration ${XMLNS}>\n  <CORSRule>\n    <AllowedOrigin>*</AllowedOrigin>\n    <AllowedMethod>GET</AllowedMethod>\n  </CORSRule>\n</CORSConfiguration>`],
  ["Lifecycle", "lifecycle", ["NoSuchLifecycleConfiguration"], () => `<LifecycleConfiguration ${XMLNS}>\n  <Rule>\n    <ID>expire-tmp</ID>\n    <Filter><Prefix>tmp/</Prefix></Filter>\n    <Status>Enabled</Status>\n    <Expiration><Days>7</Days></Expiration>\n  </Rule>\n</LifecycleConfiguration>`],
  ["Default encryption", "encryption", ["ServerSideEncryptionConfigurationNotFoundError"], () => `<ServerSideEncryptionConfiguration ${XMLNS}>\n  <Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>\n</ServerSideEncryptionConfiguration>`],
  ["Tags", "tagging", ["NoSuchTagSet"], () => `<Tagging ${XMLNS}>\n  <TagSet><Tag><Key>team</Key><Value>data</Value></Tag></TagSet>\n</Tagging>`],
  ["Static website", "website", ["NoSuchWebsiteConfiguration"], () => `<WebsiteConfiguration ${XMLNS}>\n  <IndexDocument><Suffix>index.html</Suffix></IndexDocument>\n</WebsiteConfiguration>`],
  ["Object ownership", "ownershipControls", ["OwnershipControlsNotFoundError"], () => `<OwnershipControls ${XMLNS}>\n  <Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule>\n</OwnershipControls>`],
  ["Public access block", "publicAccessBlock", ["NoSuchPublicAccessBlockConfiguration"], () => `<PublicAccessBlockConfiguration ${XMLNS}>\n  <BlockPublicAcls>true</BlockPublicAcls>\n  <IgnorePublicAcls>true</IgnorePublicAcls>\n  <BlockPublicPolicy>true</BlockPublicPolicy>\n  <RestrictPublicBuckets>true</RestrictPublicBuckets>\n</PublicAccessBlockConfiguration>`],
  ["Access control list", "acl", [], () => "", false],
  ["Object lock", "object-lock", ["ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"], () => `<ObjectLockConfiguration ${XMLNS}>\n  <ObjectLockEnabled>Enabled</ObjectLockEnabled>\n  <Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>\n</ObjectLockConfiguration>`, false],
];

function settingBox(s3, bucket, [title, name, missing, example, deletable = true]) {
  const area = h("textarea", { id: `setting-${name}`, spellcheck: "false" });
  const message = h("p", { class: "error", id: `setting-${name}-error`, hidden: true });
  const ok = h("span", { class: "ok", id: `setting-${name}-status` });
  const say = (text) => { message.hidden = true; ok.textContent = text; };
  const load = async () => {
    try {
      const body = await s3.getSetting(bucket, name, missing);
      area.value = name === "policy" && body ? JSON.stringify(JSON.parse(body), null, 2) : body;
      area.placeholder = body ? "" : `none set; for example:\n${example(bucket)}`;
      say(body ? "" : "none set");
    } catch (err) { ok.textContent = ""; showError(message, err); }
  };
  const save = async () => {
    if (name === "policy") {
      try { JSON.parse(area.value); } catch (err) { showError(message, { code: "InvalidJSON", message: err.message }); return; }
    }
    try { await s3.putSetting(bucket, name, area.value, name === "policy" ? "application/json" : "application/xml"); await load(); say("saved"); } catch (err) { ok.textContent = ""; showError(message, err); }
  };
  const remove = async () => {
    try { await s3.deleteSetting(bucket, name); area.value = ""; say("deleted"); } catch (err) { showError(message, err); }
  };
  load();
  return h("div", { class: "setting", id: `box-${name}` }, h("h2", {}, title), area,
    h("div", { class: "toolbar" },
      button("Save", save, { id: `save-${name}`, class: "primary" }),
      deletable ? button("Delete", remove, { id: `delete-${name}`, class: "danger" }) : null,
      example(bucket) ? button("Example", () => { area.value = example(bucket); }, { id: `example-${name}` }) : null,
      button("Reload", load, { id: `reload-${name}` }), ok),
    message);
}

export async function renderSettings({ s3, view }, bucket) {
  const message = h("p", { class: "error", id: "versioning-error", hidden: true });
  const state = h("select", { id: "versioning-state" },
    h("option", { value: "" }, "never enabled"), h("option", { value: "Enabled" }, "Enabled"),
    h("option", { value: "Suspended" }, "Suspended"));
  const where = h("span", { id: "bucket-location", class: "muted" });
  view.append(h("h1", {}, `${bucket}: settings`),
    h("div", { class: "crumbs" }, h("a", { href: "#/" }, "Buckets"), " / ",
      h("a", { href: `#/b/${encodeURIComponent(bucket)}/` }, bucket), " / settings"),
    h("div", { class: "setting", id: "box-versioning" }, h("h2", {}, "Versioning"),
      h("div", { class: "toolbar" }, state, button("Save", async () => {
        if (!state.value) return;
        try { await s3.putVersioning(bucket, state.value); message.hidden = true; } catch (err) { showError(message, err); }
      }, { id: "save-versioning", class: "primary" }), "location: ", where), message),
    ...SETTINGS.map((s) => settingBox(s3, bucket, s)));
  try {
    state.value = await s3.versioning(bucket);
    where.textContent = (await s3.location(bucket)) || "default";
  } catch (err) { showError(message, err); }
}
