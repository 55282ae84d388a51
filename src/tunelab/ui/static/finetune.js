import { $, api, fileOptions, modelOptions, params, q, say, showError, start } from "./app.js";

const form = $("job-form");
const HP = ["n_epochs", "batch_size", "learning_rate_multiplier", "beta"];
let lastCheck = null;

function method() {
  return form.elements.method.value;
}

function hyperparameters() {
  const out = {};
  for (const name of HP) {
    const box = form.querySelector(`[data-hp="${name}"]`);
    if (box.hidden) continue;
    const raw = form.elements[name].value.trim();
    if (raw && raw !== "auto") out[name] = Number(raw);
  }
  return out;
}

function body() {
  const kind = method();
  const job = { model: form.elements.model.value, training_file: form.elements.training_file.value };
  if (form.elements.validation_file.value) job.validation_file = form.elements.validation_file.value;
  const hp = hyperparameters();
  job.method = { type: kind, [kind]: Object.keys(hp).length ? { hyperparameters: hp } : {} };
  const suffix = form.elements.suffix.value.trim();
  if (suffix) job.suffix = suffix;
  const seed = form.elements.seed.value.trim();
  if (seed) job.seed = Number(seed);
  if (form.elements.tuning.value !== "lora") job.tuning = form.elements.tuning.value;
  job.privacy = { pii: form.elements.pii.value };
  return job;
}

function py(value) {
  return JSON.stringify(value, null, 4).replace(/\btrue\b/g, "True").replace(/\bfalse\b/g, "False");
}

function showCode() {
  const job = body();
  const { privacy, tuning, ...rest } = job;
  const args = Object.entries(rest).map(([k, v]) => `    ${k}=${py(v).replace(/\n/g, "\n    ")},`);
  const extra = tuning ? { tuning, privacy } : { privacy };
  $("sdk-code").textContent = [
    "from openai import OpenAI",
    "",
    `client = OpenAI(base_url="${location.origin}/v1", api_key="YOUR_KEY")`,
    "job = client.fine_tuning.jobs.create(",
    ...args,
    `    extra_body=${JSON.stringify(extra)},`,
    ")",
    "print(job.id, job.status)",
  ].join("\n");
  const names = { supervised: "sft", dpo: "dpo", kto: "kto" };
  const keys = { n_epochs: "epochs", batch_size: "batch_size", learning_rate_multiplier: "learning_rate_multiplier", beta: "beta" };
  const lines = [
    `model: ${job.model}`,
    "train_file: train.jsonl        # your local copy of the dataset",
    `method: ${names[method()]}`,
    `tuning: ${form.elements.tuning.value}`,
  ];
  for (const [k, v] of Object.entries(hyperparameters())) lines.push(`${keys[k]}: ${v}`);
  if (job.seed !== undefined) lines.push(`seed: ${job.seed}`);
  if (job.suffix) lines.push(`name: ${job.suffix}`);
  lines.push("privacy:", `  pii: ${job.privacy.pii}`);
  $("yaml-code").textContent = `${lines.join("\n")}\n# run: tunelab train config.yaml`;
}

function showMethodFields() {
  for (const box of form.querySelectorAll("[data-methods]")) {
    box.hidden = !box.dataset.methods.split(" ").includes(method());
  }
}

function showAuto() {
  const auto = (lastCheck && lastCheck.auto) || {};
  for (const name of HP) {
    const chosen = auto[name];
    const out = $(`a-${name}`);
    out.textContent = chosen ? `auto chooses ${chosen.value}: ${chosen.why}` : "auto: chosen when the job starts.";
  }
}

function showEstimate() {
  const box = $("estimate");
  if (!lastCheck) return;
  const s = lastCheck.stats || {};
  const e = lastCheck.estimate || {};
  const parts = [];
  parts.push(
    lastCheck.ok
      ? `${lastCheck.n_examples} valid examples.`
      : `This dataset has ${lastCheck.errors.length} problem(s); the job will fail until they are fixed (see the dataset's report).`,
  );
  const epochs = hyperparameters().n_epochs || e.epochs;
  if (lastCheck.kind !== "supervised") {
    parts.push(`${s.pairs || 0} preference pairs, ${s.desirable || 0} desirable and ${s.undesirable || 0} undesirable rows.`);
  }
  if (s.estimated_train_seconds && e.seconds_per_epoch !== undefined) {
    // DPO / KTO: the training rows each epoch, plus one pass of the reference model
    const seconds = e.seconds_per_epoch * epochs + e.reference_seconds;
    parts.push(`Training should take about ${(seconds / 60).toFixed(1)} minutes on this machine's ${e.device} (${epochs} epochs over ${e.units} training ${lastCheck.kind === "dpo" ? "pairs" : "rows"}, ${s.tokens_total} tokens at about ${Math.round(e.tokens_per_second)} tokens/s, and one pass of the reference model), plus the evaluation before and after.`);
  } else if (s.estimated_train_seconds) {
    const seconds = (s.estimated_train_seconds / e.epochs) * epochs;
    parts.push(`Training should take about ${(seconds / 60).toFixed(1)} minutes on this machine's ${e.device} (${epochs} epochs of ${s.tokens_total} tokens at about ${Math.round(e.tokens_per_second)} tokens/s), plus the evaluation before and after.`);
  }
  if (e.memory && e.memory.summary) parts.push(`Memory: ${e.memory.summary}.`);
  box.textContent = parts.join(" ");
}

async function checkData() {
  const file = form.elements.training_file.value;
  if (!file) return;
  $("estimate").textContent = "Checking the dataset…";
  try {
    lastCheck = await api(`/v1/datasets/${q(file)}?model=${q(form.elements.model.value)}`);
    if (lastCheck.kind && lastCheck.kind !== method()) {
      form.querySelector(`input[name=method][value="${lastCheck.kind}"]`).checked = true;
      showMethodFields();
    }
    showAuto();
    showEstimate();
    showCode();
  } catch (error) {
    $("estimate").textContent = `Could not check the dataset: ${error.message}`;
  }
}

start(async () => {
  const given = params();
  await Promise.all([
    modelOptions(form.elements.model, { selected: given.get("model") || "" }),
    fileOptions(form.elements.training_file, { selected: given.get("file") || "" }),
    fileOptions(form.elements.validation_file, { blank: "none: hold back 10% of the training data" }),
  ]);
  if (given.get("method")) {
    const radio = form.querySelector(`input[name=method][value="${CSS.escape(given.get("method"))}"]`);
    if (radio) radio.checked = true;
  }
  showMethodFields();
  showAuto();
  showCode();
  form.addEventListener("input", () => {
    showMethodFields();
    showEstimate();
    showCode();
  });
  form.elements.training_file.addEventListener("change", checkData);
  form.elements.model.addEventListener("change", checkData);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    $("start").disabled = true;
    try {
      const job = await api("/v1/fine_tuning/jobs", { method: "POST", body: body() });
      say(`Started ${job.id}.`);
      location.assign(`/ui/jobs/${encodeURIComponent(job.id)}`);
    } catch (error) {
      showError(error);
      if (error.param && form.elements[error.param.split(".").pop()]) form.elements[error.param.split(".").pop()].focus();
    } finally {
      $("start").disabled = false;
    }
  });
  await checkData();
});
