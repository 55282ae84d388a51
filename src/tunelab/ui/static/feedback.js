import { $, api, clear, el, modelOptions, q, say, showError, start, when } from "./app.js";

let after = null;
let exported = null;

function prompt(messages) {
  const users = (messages || []).filter((m) => m.role === "user");
  const last = users[users.length - 1];
  return last ? (typeof last.content === "string" ? last.content : JSON.stringify(last.content)) : "";
}

function row(f) {
  const kind = f.kind === "rating" ? `thumbs ${f.rating}` : f.kind === "correction" ? `thumbs ${f.rating || "down"} + better answer` : "comparison";
  const model = f.completion?.model_version || f.completion?.model || f.preferred?.model || "";
  const answer = f.completion ? f.completion.output : f.rejected?.output;
  const better = f.kind === "correction" ? f.correction : f.kind === "comparison" ? f.preferred?.output : "";
  return el(
    "tr",
    {},
    el("td", {}, when(f.created_at)),
    el("td", {}, kind),
    el("td", {}, el("code", {}, model)),
    el("td", {}, prompt(f.messages)),
    el("td", {}, answer || ""),
    el("td", {}, better || ""),
  );
}

function query(more) {
  const form = $("filter-form");
  const parts = ["limit=50"];
  for (const name of ["model", "rating", "kind", "tag"]) {
    const value = form.elements[name].value.trim();
    if (value) parts.push(`${name}=${q(value)}`);
  }
  if (more && after) parts.push(`after=${q(after)}`);
  return parts.join("&");
}

async function load(more = false) {
  const page = await api(`/v1/feedback?${query(more)}`);
  const body = $("feedback").tBodies[0];
  if (!more) clear(body);
  for (const f of page.data) body.append(row(f));
  after = page.last_id || after;
  $("feedback-more").hidden = !page.has_more;
  $("feedback-empty").hidden = body.rows.length > 0;
}

async function exportFeedback() {
  const form = $("export-form");
  const body = { kind: form.elements.kind.value, policy: form.elements.policy.value };
  if (form.elements.model.value.trim()) body.model = form.elements.model.value.trim();
  showError(null);
  const box = $("export-result");
  try {
    exported = await api("/v1/feedback/export", { method: "POST", body });
    const x = exported.export;
    const pii = Object.entries(x.pii?.counts || {}).map(([k, v]) => `${k} ${v}`).join(", ");
    box.replaceChildren(
      el("p", {}, el("strong", {}, `${x.rows} training row(s)`), ` in ${exported.filename} (`, el("a", { href: `/ui/datasets/${encodeURIComponent(exported.id)}` }, exported.id), ")."),
      el("p", {}, `From ${Object.entries(x.feedback).map(([k, v]) => `${v} ${k}`).join(", ") || "no feedback"}; ${x.duplicates} duplicate(s) and ${x.near_duplicates} near duplicate(s) dropped, ${x.contradictions} contradiction(s) left out, ${x.ratings_not_used} plain rating(s) not usable for ${x.kind}.`),
      el("p", {}, pii ? `Personal data ${x.policy === "redact" ? "replaced" : "found"}: ${pii}.` : "No personal data found."),
    );
    box.hidden = false;
    $("train-form").hidden = false;
    $("t-start").textContent = `Start a ${x.kind.toUpperCase()} job`;
    try {
      const check = await api(`/v1/datasets/${q(exported.id)}?kind=${q(x.kind)}`);
      if (!check.ok) {
        box.append(el("p", { class: "warn" }, `Before it can train: ${check.errors.map((e) => e.message).join("; ")}.`));
      }
    } catch (error) {
      box.append(el("p", { class: "warn" }, `Could not check the file: ${error.message}`));
    }
  } catch (error) {
    box.hidden = true;
    showError(error);
  }
}

async function startJob() {
  const kind = exported.export.kind;
  const body = {
    model: $("t-model").value,
    training_file: exported.id,
    method: { type: kind, [kind]: {} },
  };
  showError(null);
  try {
    const job = await api("/v1/fine_tuning/jobs", { method: "POST", body });
    say(`Started ${job.id}.`);
    location.assign(`/ui/jobs/${encodeURIComponent(job.id)}`);
  } catch (error) {
    showError(error);
  }
}

start(async () => {
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load().catch(showError);
  });
  $("feedback-more").addEventListener("click", () => load(true).catch(showError));
  $("export-form").addEventListener("submit", (event) => {
    event.preventDefault();
    exportFeedback();
  });
  $("train-form").addEventListener("submit", (event) => {
    event.preventDefault();
    startJob();
  });
  const models = await modelOptions($("t-model"));
  const versions = models.filter((m) => m.id.startsWith("ft:"));
  if (versions.length) $("t-model").value = versions[0].id;
  await load();
});
