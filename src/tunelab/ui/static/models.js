import { $, api, bytes, clear, el, number, q, say, showError, start } from "./app.js";

let models = [];
let aliases = [];

// The forgetting gate's verdict on a version, from the table its run measured (eval.forgetting):
// null when it has none (not an update), else {over: [rows over the threshold], rows}.
function verdict(model) {
  const rows = (model.config && model.config.forgetting) || [];
  if (!rows.length) return null;
  return { over: rows.filter((r) => r.over), rows };
}

function change(row) {
  const pct = (v) => `${(v * 100).toFixed(1)}%`;
  return row.metric === "accuracy"
    ? `accuracy ${pct(row.parent)} → ${pct(row.new)}`
    : `${row.metric} ${number(row.parent)} → ${number(row.new)}`;
}

function verdictText(model) {
  const v = verdict(model);
  if (!v) return "No forgetting table (not trained from another version): the gate lets it through.";
  if (!v.over.length) return `Within every threshold on ${v.rows.length} measurement(s): the gate lets it through.`;
  return `Over the threshold: ${v.over.map((r) => `${r.task}: ${change(r)}`).join("; ")}. The gate refuses it unless you promote anyway.`;
}

function forgettingCell(model) {
  const v = verdict(model);
  if (!v) return el("td", {}, "–");
  const table = el(
    "table",
    { class: "list small" },
    el("caption", { class: "sr" }, `Forgetting of ${model.id}`),
    el("thead", {}, el("tr", {}, ["task", "parent → new", "over"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, v.rows.map((r) => el("tr", { class: r.over ? "bad" : "" }, el("td", {}, r.task), el("td", {}, change(r)), el("td", {}, r.over ? "yes" : "no")))),
  );
  const summary = v.over.length ? `forgot: ${v.over.length} over` : "kept: within thresholds";
  return el("td", { class: v.over.length ? "bad" : "ok" }, el("details", {}, el("summary", {}, summary), table));
}

function aliasNames(id) {
  return aliases.filter((a) => a.model === id).map((a) => a.name);
}

function node(model, children) {
  const names = aliasNames(model.id);
  const label = [
    el("code", {}, model.id),
    model.method ? el("span", { class: "tag" }, `${model.method}, ${model.tuning || ""}`) : null,
    ...names.map((n) => el("span", { class: "tag alias" }, n)),
  ];
  const kids = children.get(model.id) || [];
  return el("li", {}, el("span", { class: "node" }, label), kids.length ? el("ul", {}, kids.map((k) => node(k, children))) : null);
}

function showLineage() {
  const byId = new Map(models.map((m) => [m.id, m]));
  const children = new Map();
  const roots = [];
  for (const m of models) {
    const parent = m.parent && byId.has(m.parent) ? m.parent : m.id.startsWith("ft:") ? m.base : null;
    if (parent && byId.has(parent) && parent !== m.id) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(m);
    } else roots.push(m);
  }
  for (const list of children.values()) list.sort((a, b) => a.created - b.created);
  clear($("lineage")).append(el("ul", { class: "tree-root" }, roots.map((r) => node(r, children))));
}

function showCompare() {
  const versions = models.filter((m) => m.id.startsWith("ft:"));
  const pick = $("compare-pick");
  const chosen = new Set([...pick.querySelectorAll("input:checked")].map((i) => i.value));
  const first = !pick.querySelector("input");
  pick.querySelectorAll("label").forEach((l) => l.remove());
  versions.forEach((m, i) => {
    const checked = first ? i < 4 : chosen.has(m.id);
    pick.append(el("label", {}, el("input", { type: "checkbox", value: m.id, checked }), ` ${m.id}`));
  });
  const shown = versions.filter((m) => (first ? versions.indexOf(m) < 4 : chosen.has(m.id)));
  const keys = [];
  const metric = new Map();
  for (const m of shown) {
    for (const row of m.metrics || []) {
      if (!metric.has(row.key)) {
        keys.push(row.key);
        metric.set(row.key, row);
      }
    }
  }
  const table = $("compare");
  clear(table.tHead).append(el("tr", {}, el("th", { scope: "col" }, "metric"), el("th", { scope: "col" }, "base model"), shown.map((m) => el("th", { scope: "col" }, m.id))));
  const body = clear(table.tBodies[0]);
  for (const key of keys) {
    const row = metric.get(key);
    const cells = shown.map((m) => {
      const mine = (m.metrics || []).find((r) => r.key === key);
      return el("td", { class: mine?.improved ? "ok" : mine?.improved === false ? "bad" : "" }, mine ? number(mine.tuned) : "–");
    });
    body.append(el("tr", {}, el("th", { scope: "row" }, row.metric), el("td", {}, number(row.base)), cells));
  }
  if (!keys.length) body.append(el("tr", {}, el("td", { colspan: 2 + shown.length }, "No measured version yet.")));
}

function showAliases() {
  const body = clear($("aliases").tBodies[0]);
  for (const alias of aliases) {
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, alias.name),
        el("td", {}, el("code", {}, alias.model)),
        el("td", {}, alias.previous ? el("code", {}, alias.previous) : "–"),
        el("td", {}, alias.history && alias.history[0] && alias.history[0].forced ? el("span", { class: "tag bad" }, "forced past the gate") : "gate passed"),
        el(
          "td",
          {},
          el("button", { type: "button", class: "quiet", disabled: !alias.previous, onclick: () => rollback(alias.name), "aria-label": `Roll back ${alias.name}` }, "Roll back"),
          " ",
          el("button", { type: "button", class: "quiet", onclick: () => removeAlias(alias.name), "aria-label": `Remove alias ${alias.name}` }, "Remove"),
        ),
      ),
    );
  }
  if (!aliases.length) body.append(el("tr", {}, el("td", { colspan: 5 }, "No alias yet: promote a version below.")));
}

function showVersions() {
  const body = clear($("versions").tBodies[0]);
  const select = clear($("p-model"));
  for (const m of models.filter((x) => x.id.startsWith("ft:"))) {
    select.append(el("option", { value: m.id }, m.id));
    body.append(
      el(
        "tr",
        {},
        el("td", {}, el("code", {}, m.id)),
        el("td", {}, `${m.method || ""} ${m.tuning || ""}`),
        el("td", {}, m.parent ? el("code", {}, m.parent) : m.base),
        el("td", {}, bytes(m.size_bytes)),
        forgettingCell(m),
        el(
          "td",
          {},
          el("a", { href: `/ui/playground?model=${q(m.id)}` }, "Chat"),
          " ",
          el("button", { type: "button", class: "quiet", onclick: () => removeModel(m.id), "aria-label": `Delete ${m.id}` }, "Delete"),
        ),
      ),
    );
  }
  if (!body.rows.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "No version yet: start a fine-tune.")));
  showVerdict();
}

function showVerdict() {
  const chosen = models.find((m) => m.id === $("p-model").value);
  $("p-verdict").textContent = chosen ? `Forgetting gate: ${verdictText(chosen)}` : "";
}

async function load() {
  const [m, a] = await Promise.all([api("/v1/models"), api("/v1/aliases")]);
  models = m.data;
  aliases = a.data;
  showLineage();
  showCompare();
  showAliases();
  showVersions();
}

async function act(work, done) {
  showError(null);
  try {
    await work();
    say(done);
    await load();
  } catch (error) {
    showError(error);
  }
}

const rollback = (name) => act(() => api(`/v1/aliases/${q(name)}/rollback`, { method: "POST" }), `${name} rolled back.`);
const removeAlias = (name) =>
  confirm(`Remove the alias ${name}? Its history stays.`) &&
  act(() => api(`/v1/aliases/${q(name)}`, { method: "DELETE" }), `${name} removed.`);

async function removeModel(id, force = false) {
  if (!force && !confirm(`Delete ${id}? Its weights are removed; its history stays.`)) return;
  try {
    await api(`/v1/models/${q(id)}${force ? "?force=true" : ""}`, { method: "DELETE" });
    say(`${id} deleted.`);
    await load();
  } catch (error) {
    if (error.code === "model_in_use" && confirm(`${error.message}\n\nDelete it anyway?`)) return removeModel(id, true);
    showError(error);
  }
}

async function promote(force) {
  const form = $("promote-form");
  const name = form.elements.alias.value.trim();
  const body = { model: form.elements.model.value, force };
  if (form.elements.note.value.trim()) body.note = form.elements.note.value.trim();
  showError(null);
  $("gate").hidden = true;
  try {
    await api(`/v1/aliases/${q(name)}`, { method: "PUT", body });
    say(`${name} now points at ${body.model}${force ? " (forced past the forgetting gate)" : ""}.`);
    await load();
  } catch (error) {
    if (error.code === "forgetting_gate") {
      $("gate-message").textContent = `The forgetting gate refused: ${error.message}`;
      $("gate").hidden = false;
      $("gate-force").focus();
      return;
    }
    showError(error);
  }
}

start(async () => {
  $("compare-pick").addEventListener("change", showCompare);
  $("promote-form").addEventListener("submit", (event) => {
    event.preventDefault();
    promote(false);
  });
  $("gate-force").addEventListener("click", () => promote(true));
  $("p-model").addEventListener("change", showVerdict);
  await load();
});
