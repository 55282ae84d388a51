import { $, api, bytes, clear, el, showError, start, when } from "./app.js";

async function listFiles() {
  const files = await api("/v1/files?limit=200");
  const body = clear($("files").tBodies[0]);
  for (const f of files.data) {
    body.append(
      el(
        "tr",
        {},
        el("td", {}, el("a", { href: `/ui/datasets/${encodeURIComponent(f.id)}` }, f.filename)),
        el("td", {}, bytes(f.bytes)),
        el("td", {}, when(f.created_at)),
        el("td", {}, el("code", {}, f.id)),
      ),
    );
  }
  $("files-empty").hidden = files.data.length > 0;
}

async function upload(file) {
  showError(null);
  const state = $("upload-state");
  state.textContent = `Uploading ${file.name}…`;
  const form = new FormData();
  form.append("purpose", "fine-tune");
  form.append("file", file, file.name);
  try {
    const row = await api("/v1/files", { method: "POST", body: form });
    state.textContent = `Uploaded ${row.filename}. Opening its report…`;
    location.assign(`/ui/datasets/${encodeURIComponent(row.id)}`);
  } catch (error) {
    state.textContent = "";
    showError(error);
  }
}

start(async () => {
  const input = $("upload-input");
  const drop = $("drop");
  input.addEventListener("change", () => input.files[0] && upload(input.files[0]));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) upload(file);
  });
  await listFiles();
});
