import { $, ApiError, TERMINAL, api, clear, el, number, q, readEvents, say, showError, start, stateBadge, when } from "./app.js";
import { lineChart } from "./chart.js";

const jobId = document.body.dataset.id;
const events = new Map(); // id -> event
let job = null;
let lastEvent = null; // the newest event received: a reconnect resumes after it
let drawing = false;

function draw() {
  // many events can arrive at once (a page's worth): draw once per frame
  if (drawing) return;
  drawing = true;
  requestAnimationFrame(() => {
    drawing = false;
    showChart();
    showEvents();
  });
}

function ordered() {
  return [...events.values()].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
}

function showChart() {
  const metrics = ordered().filter((e) => e.type === "metrics" && e.data && e.data.step !== undefined);
  // by step: events of the same second have no order of their own
  const byStep = (a, b) => a[0] - b[0];
  const train = metrics.filter((e) => e.data.train_loss !== undefined).map((e) => [e.data.step, e.data.train_loss]).sort(byStep);
  const valid = metrics.filter((e) => e.data.valid_loss !== undefined).map((e) => [e.data.step, e.data.valid_loss]).sort(byStep);
  lineChart(
    $("chart"),
    [
      { name: "training loss", cls: "train", points: train },
      { name: "validation loss", cls: "valid", points: valid },
    ],
    { title: "Loss by training step" },
  );
  const last = metrics.reduce((a, b) => (!a || b.data.step > a.data.step ? b : a), null);
  if (!last) {
    $("chart-summary").textContent = "No training step yet.";
    return;
  }
  const best = valid.reduce((a, b) => (b[1] < a[1] ? b : a), valid[0] || [null, null]);
  const total = last.data.total_steps ? ` of ${last.data.total_steps}` : "";
  $("chart-summary").textContent =
    `Step ${last.data.step}${total}: training loss ${number(last.data.train_loss)}` +
    (valid.length ? `; validation loss ${number(valid[valid.length - 1][1])}, best ${number(best[1])} at step ${best[0]}.` : ".");
  $("chart").dataset.points = String(train.length + valid.length);
}

function showEvents() {
  const list = clear($("events"));
  for (const event of ordered().reverse().slice(0, 200)) {
    list.append(
      el("li", { class: `event level-${event.level}` }, el("time", {}, when(event.created_at)), " ", event.message),
    );
  }
}

function showJob() {
  $("job-state").replaceChildren(stateBadge(job.status));
  $("page-title").textContent = `Job ${job.id}`;
  const parts = [`${job.method?.type || "supervised"} on ${job.model}`, `created ${when(job.created_at)}`];
  if (job.trained_tokens) parts.push(`${job.trained_tokens} trained tokens`);
  if (job.queue_reason) parts.push(`waiting: ${job.queue_reason}`);
  $("job-meta").textContent = parts.join(" · ");
  $("cancel").hidden = TERMINAL.has(job.status);
  if (job.fine_tuned_model) {
    const link = $("try-link");
    link.href = `/ui/playground?model=${q(job.fine_tuned_model)}&compare=${q(job.model)}`;
    link.hidden = false;
  }
  const error = $("job-error");
  error.hidden = !job.error;
  if (job.error) error.textContent = `${job.error.message} (${job.error.code}${job.error.param ? `, ${job.error.param}` : ""})`;
  const list = clear($("hyperparameters"));
  const hp = job.hyperparameters || {};
  for (const [name, value] of Object.entries(hp)) list.append(el("dt", {}, name), el("dd", {}, String(value)));
  list.append(el("dt", {}, "seed"), el("dd", {}, String(job.seed)));
}

function table(columns, rows, caption) {
  return el(
    "div",
    { class: "scroll" },
    el(
      "table",
      { class: "list" },
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((cell) => el("td", {}, cell === null ? "–" : String(cell)))))),
    ),
  );
}

function showReport(report) {
  const box = clear($("report"));
  const rows = (report.rows || []).map((r) => {
    const change = r.change === null || r.change === undefined ? "–" : `${r.change > 0 ? "+" : ""}${number(r.change)}`;
    const verdict = r.improved === null || r.improved === undefined ? "" : r.improved ? "better" : "worse";
    return [r.metric, number(r.base), number(r.tuned), `${change} ${verdict}`.trim()];
  });
  box.append(table(["metric", "base model", "tuned", "change"], rows, "Base model vs tuned, on the same data"));
  for (const section of report.sections || []) {
    box.append(el("h3", {}, section.title));
    if (section.text) box.append(el("p", {}, section.text));
    if (section.rows?.length) box.append(table(section.columns, section.rows, section.title));
  }
  if (report.samples?.length) {
    box.append(el("h3", {}, "Sample answers"));
    box.append(table(["prompt", "expected", "base model", "tuned"], report.samples.map((s) => [s.prompt, s.reference, s.base, s.tuned]), "Sample answers"));
  }
  const facts = [];
  if (report.stop_reason) facts.push(`Training ended: ${report.stop_reason.replaceAll("_", " ")} after ${report.steps} steps.`);
  if (report.best_step) facts.push(`The best checkpoint (lowest validation loss ${number(report.best_validation_loss)}) is from step ${report.best_step}, and that is the version kept.`);
  if (facts.length) $("stopping").textContent = facts.join(" ");
}

// The job's events as server-sent events: each event as it is written, the job whenever it
// changes, "done" at the end. True when the job finished; false when the stream broke.
async function follow() {
  const response = await api(`/v1/fine_tuning/jobs/${q(jobId)}/events/stream?after=${q(lastEvent || "")}`, { raw: true });
  let finished = false;
  await readEvents(response, (kind, text) => {
    const data = JSON.parse(text);
    if (kind === "event") {
      events.set(data.id, data);
      lastEvent = data.id;
      draw();
    } else if (kind === "job") {
      job = data;
      showJob();
    } else if (kind === "done") {
      finished = true;
    }
  });
  return finished;
}

async function finish() {
  showChart();
  showEvents();
  if (job.status === "succeeded") {
    try {
      showReport(await api(`/v1/fine_tuning/jobs/${q(jobId)}/report`));
    } catch (error) {
      if (error.code !== "report_not_found") throw error;
    }
  } else {
    $("stopping").textContent = `The job ${job.status}; no model was made.`;
  }
  document.body.dataset.done = job.status;
}

async function watch() {
  for (;;) {
    try {
      if (await follow()) return finish();
    } catch (error) {
      if (error instanceof ApiError) throw error; // the API said no: show it
      // the connection dropped (server restart, network): reconnect after a pause
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

start(async () => {
  $("cancel").addEventListener("click", async () => {
    if (!confirm("Cancel this job? A running job stops within seconds and keeps its last checkpoint.")) return;
    try {
      job = await api(`/v1/fine_tuning/jobs/${q(jobId)}/cancel`, { method: "POST" });
      say("Cancelling.");
      showJob();
    } catch (error) {
      showError(error);
    }
  });
  await watch();
});
