// tunelab's web UI: the shared part of every page. A client of the REST API (the same routes as
// the SDK); the API key the user typed is kept in sessionStorage and sent as an Authorization
// header, never in a URL. All text from the server goes into the page with textContent (el()),
// never as HTML.

const KEY = "tunelab.apiKey";

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || null;
    this.param = error.param || null;
  }
}

function authHeaders(headers = {}) {
  const key = sessionStorage.getItem(KEY);
  return key ? { ...headers, Authorization: `Bearer ${key}` } : { ...headers };
}

// fetch() with the key; a 401 asks for the key and tries again. `raw` returns the Response.
export async function api(path, { method = "GET", body, headers = {}, raw = false, signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    await askForKey(sessionStorage.getItem(KEY) ? "That key was refused; try another." : "");
    return api(path, { method, body, headers, raw, signal });
  }
  if (raw && response.ok) return response;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.error || {});
  return data;
}

export const q = (value) => encodeURIComponent(value);

// Server-sent events read from a fetch() Response (EventSource cannot send the API key):
// onFrame(kind, data) for each frame, kind "message" when it names none; returns at the end.
export async function readEvents(response, onFrame) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onFrame(kind, data.join("\n"));
    }
  }
}

let asking = null;
export function askForKey(reason = "") {
  if (asking) return asking;
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  const lead = dialog.querySelector("p");
  if (reason) lead.textContent = reason;
  asking = new Promise((resolve) => {
    form.addEventListener(
      "submit",
      () => {
        sessionStorage.setItem(KEY, input.value.trim());
        input.value = "";
        asking = null;
        resolve();
      },
      { once: true },
    );
  });
  dialog.showModal();
  input.focus();
  return asking;
}

// el("a", {href: "/x", class: "y"}, "text", child): an element; strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(
    tag === "svg" || attrs._svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml",
    tag,
  );
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "_svg" || value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  return el(tag, { ...attrs, _svg: true }, ...children);
}

export function $(id) {
  return document.getElementById(id);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    clear(box);
    return;
  }
  const code = error.code ? ` (${error.code})` : "";
  box.replaceChildren(el("strong", {}, "Something went wrong: "), `${error.message}${code}`);
  box.hidden = false;
}

export function say(text) {
  const box = $("status");
  box.textContent = text;
  box.classList.add("shown");
  clearTimeout(say.timer);
  say.timer = setTimeout(() => box.classList.remove("shown"), 4000);
}

export function when(seconds) {
  if (!seconds) return "";
  return new Date(seconds * 1000).toLocaleString();
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function number(value, digits = 3) {
  if (value === null || value === undefined || value === "") return "–";
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function stateBadge(status) {
  const words = {
    validating_files: "checking files",
    queued: "waiting",
    running: "running",
    succeeded: "finished",
    failed: "failed",
    cancelled: "cancelled",
  };
  return el("span", { class: `state state-${status}` }, words[status] || status);
}

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

// Every model a job or a chat can use: bases, versions and aliases (options of a <select>).
export async function modelOptions(select, { selected = "", blank = "", versionsOnly = false } = {}) {
  const [models, aliases] = await Promise.all([api("/v1/models"), api("/v1/aliases")]);
  clear(select);
  if (blank) select.append(el("option", { value: "" }, blank));
  const bases = models.data.filter((m) => !m.id.startsWith("ft:"));
  const versions = models.data.filter((m) => m.id.startsWith("ft:"));
  const group = (label, items) =>
    items.length ? select.append(el("optgroup", { label }, items)) : null;
  if (!versionsOnly) group("Base models", bases.map((m) => el("option", { value: m.id }, m.id)));
  group("Versions", versions.map((m) => el("option", { value: m.id }, m.id)));
  group(
    "Aliases",
    aliases.data.map((a) => el("option", { value: a.name }, `${a.name} → ${a.model}`)),
  );
  if (selected) select.value = selected;
  return models.data;
}

export async function fileOptions(select, { selected = "", blank = "" } = {}) {
  const files = await api("/v1/files?limit=200");
  clear(select);
  if (blank) select.append(el("option", { value: "" }, blank));
  for (const f of files.data) select.append(el("option", { value: f.id }, `${f.filename} (${f.id})`));
  if (selected) select.value = selected;
  return files.data;
}

export function params() {
  return new URLSearchParams(location.search);
}

// Run a page's start function, showing any error; wire the key button once.
export function start(main) {
  $("key-button").addEventListener("click", () => askForKey());
  $("key-forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    $("key-dialog").close();
    say("The key is forgotten.");
  });
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      await navigator.clipboard?.writeText($(button.dataset.copy).textContent);
      say("Copied.");
    });
  }
  const run = () => Promise.resolve(main()).catch(showError);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
}
