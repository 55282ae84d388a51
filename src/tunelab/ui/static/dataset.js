import { $, api, bytes, clear, el, modelOptions, number, q, showError, start, when } from "./app.js";
import { histogram } from "./chart.js";

const fileId = document.body.dataset.id;
const FIXES = JSON.parse($("fixes").textContent);

function issueRow(issue) {
  const where = issue.line ? `line ${issue.line}${issue.pointer ? ` ${issue.pointer}` : ""}` : "whole file";
  return el(
    "tr",
    { class: issue.severity === "error" ? "bad" : "warn" },
    el("td", {}, where),
    el("td", {}, issue.severity),
    el("td", {}, issue.message, " ", el("code", {}, issue.code)),
    el("td", {}, FIXES[issue.code] || "See the message."),
  );
}

function showVerdict(check) {
  const errors = check.errors.length;
  const text = check.ok
    ? `Ready to train: ${check.n_examples} valid examples (${check.format || check.kind}).`
    : `${errors} problem${errors === 1 ? "" : "s"} to fix before training (${check.n_records} records read).`;
  $("verdict").replaceChildren(el("strong", { class: check.ok ? "ok" : "bad" }, text));
  const method = check.kind || "supervised";
  $("train-link").href = `/ui/finetune?file=${q(fileId)}&method=${q(method)}&model=${q($("check-model").value)}`;
  const body = clear($("issues").tBodies[0]);
  for (const issue of [...check.errors, ...check.warnings]) body.append(issueRow(issue));
  $("issues-none").hidden = body.rows.length > 0;
}

function showStats(check) {
  const s = check.stats || {};
  const e = check.estimate || {};
  const items = [
    ["Examples", s.examples],
    ["Duplicates", s.duplicates === undefined ? undefined : `${s.duplicates} (${((s.duplicate_ratio || 0) * 100).toFixed(1)}%)`],
    ["Tokens in all", s.tokens_total],
    ["Trained tokens (the answers)", s.tokens_trained],
    ["Tokens per example", s.tokens_per_example && `min ${s.tokens_per_example.min}, mean ${number(s.tokens_per_example.mean, 0)}, max ${s.tokens_per_example.max}`],
    ["Preference pairs", s.pairs],
    ["Estimated training time", s.estimated_train_seconds && `${(s.estimated_train_seconds / 60).toFixed(1)} min (${e.epochs} epochs on ${e.device})`],
    ["Memory", e.memory && (e.memory.summary || e.memory.error)],
  ];
  const list = clear($("stats"));
  for (const [label, value] of items) {
    if (value === undefined || value === null) continue;
    list.append(el("dt", {}, label), el("dd", {}, String(value)));
  }
  if (s.histogram) histogram($("histogram"), s.histogram, { title: "Tokens per example" });
  $("histogram-figure").hidden = !s.histogram;
}

function showPrivacy(privacy) {
  const found = Object.values(privacy.counts).reduce((a, b) => a + b, 0);
  $("pii-summary").textContent = found
    ? `${found} value(s) of personal data or secrets in ${privacy.records_with_pii} of ${privacy.records_scanned} records. The values are never shown, only their lines.`
    : `No personal data found in ${privacy.records_scanned} records.`;
  const body = clear($("pii").tBodies[0]);
  for (const [kind, count] of Object.entries(privacy.counts)) {
    const lines = privacy.lines[kind] || [];
    const shown = lines.slice(0, 20).join(", ") + (lines.length > 20 ? ` and ${lines.length - 20} more` : "");
    body.append(el("tr", {}, el("td", {}, kind), el("td", {}, String(count)), el("td", {}, shown)));
  }
  $("pii").hidden = !found;
}

function segmentsOf(segments) {
  return el(
    "pre",
    { class: "rendered" },
    segments.map((s) => (s.trained ? el("mark", { class: "trained" }, s.text) : el("span", {}, s.text))),
  );
}

function showPreview(preview) {
  const box = clear($("preview"));
  for (const example of preview.examples) {
    const parts = [el("h3", {}, `Line ${example.line}`)];
    if (example.segments) parts.push(segmentsOf(example.segments));
    for (const name of ["chosen", "rejected", "desirable", "undesirable"]) {
      if (example[name]) parts.push(el("h4", {}, name), segmentsOf(example[name]));
    }
    box.append(el("article", { class: "example" }, parts));
  }
  if (!preview.examples.length) box.append(el("p", {}, "No valid example to show."));
}

async function check() {
  showError(null);
  const model = $("check-model").value;
  $("check-state").textContent = `Checking the file with ${model}'s tokenizer…`;
  try {
    const [result, preview] = await Promise.all([
      api(`/v1/datasets/${q(fileId)}?model=${q(model)}`),
      api(`/v1/datasets/${q(fileId)}/preview?limit=3&model=${q(model)}`),
    ]);
    showVerdict(result);
    showStats(result);
    showPrivacy(result.privacy);
    showPreview(preview);
    $("check-state").textContent = "Checked.";
  } catch (error) {
    $("check-state").textContent = "";
    showError(error);
  }
}

start(async () => {
  const file = await api(`/v1/files/${q(fileId)}`);
  $("page-title").textContent = `Dataset: ${file.filename}`;
  $("file-meta").textContent = `${file.id} · ${bytes(file.bytes)} · uploaded ${when(file.created_at)}`;
  const models = await modelOptions($("check-model"));
  const bases = models.filter((m) => !m.id.startsWith("ft:"));
  $("check-model").value = bases.length ? bases[bases.length - 1].id : models[0].id;
  $("check-form").addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  await check();
});
