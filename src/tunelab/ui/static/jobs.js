import { $, TERMINAL, api, clear, el, q, showError, start, stateBadge, when } from "./app.js";

let after = null;
let timer = null;

function row(job) {
  return el(
    "tr",
    {},
    el("td", {}, el("a", { href: `/ui/jobs/${encodeURIComponent(job.id)}` }, job.id)),
    el("td", {}, stateBadge(job.status)),
    el("td", {}, job.method?.type || "supervised"),
    el("td", {}, job.model),
    el("td", {}, when(job.created_at)),
    el("td", {}, job.fine_tuned_model ? el("code", {}, job.fine_tuned_model) : job.error ? job.error.message : ""),
  );
}

async function load(more = false) {
  const page = await api(`/v1/fine_tuning/jobs?limit=100${more && after ? `&after=${q(after)}` : ""}`);
  const body = $("jobs").tBodies[0];
  if (!more) clear(body);
  for (const job of page.data) body.append(row(job));
  after = page.last_id || after;
  $("jobs-more").hidden = !page.has_more;
  $("jobs-empty").hidden = body.rows.length > 0;
  clearTimeout(timer);
  if (!more && page.data.some((job) => !TERMINAL.has(job.status))) {
    timer = setTimeout(() => load().catch(showError), 3000);
  }
}

start(async () => {
  $("jobs-more").addEventListener("click", () => load(true).catch(showError));
  await load();
});
