import { $, api, clear, el, modelOptions, params, readEvents, say, showError, start } from "./app.js";

const form = $("chat-form");
const columns = {
  left: { section: $("col-left"), history: [] },
  right: { section: $("col-right"), history: [] },
};

function key() {
  return globalThis.crypto?.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
}

async function sendFeedback(body, where) {
  showError(null);
  try {
    await api("/v1/feedback", { method: "POST", body, headers: { "Idempotency-Key": key() } });
    where.replaceChildren(el("span", { class: "ok" }, "Thanks: feedback saved."));
    say("Feedback saved.");
  } catch (error) {
    showError(error);
  }
}

function feedbackControls(completionId, output) {
  const box = el("div", { class: "feedback" });
  const correction = el("textarea", { id: `fix-${completionId}`, rows: 3, "aria-describedby": `fixh-${completionId}` });
  correction.value = output;
  const fixForm = el(
    "form",
    { class: "fix", hidden: true },
    el("label", { for: `fix-${completionId}` }, "The better answer"),
    correction,
    el("p", { class: "help", id: `fixh-${completionId}` }, "What the model should have said. It becomes a training pair: yours preferred over this reply."),
    el("button", { type: "submit" }, "Send the better answer"),
    " ",
    el("button", { type: "button", class: "quiet", onclick: () => sendFeedback({ completion_id: completionId, rating: "down" }, box) }, "Just thumbs down"),
  );
  fixForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = correction.value.trim();
    const body = { completion_id: completionId, rating: "down" };
    if (text && text !== output.trim()) body.correction = text;
    sendFeedback(body, box);
  });
  const open = () => {
    fixForm.hidden = false;
    correction.focus();
  };
  box.append(
    el("button", { type: "button", class: "thumb", title: "A good answer", onclick: () => sendFeedback({ completion_id: completionId, rating: "up" }, box) }, "Thumbs up"),
    el("button", { type: "button", class: "thumb", title: "A bad answer", onclick: open }, "Thumbs down"),
    el("button", { type: "button", class: "quiet", onclick: open }, "Write the better answer"),
    fixForm,
  );
  return box;
}

async function stream(side, model, messages, bubble) {
  const body = {
    model,
    messages,
    stream: true,
    max_tokens: Number(form.elements.max_tokens.value) || 64,
    temperature: Number(form.elements.temperature.value) || 0,
  };
  const response = await api("/v1/chat/completions", { method: "POST", body, raw: true });
  let id = null;
  let text = "";
  await readEvents(response, (_, data) => {
    if (data === "[DONE]") return;
    const chunk = JSON.parse(data);
    if (chunk.error) throw new Error(chunk.error.message);
    id = id || chunk.id;
    const delta = chunk.choices?.[0]?.delta?.content;
    if (delta) {
      text += delta;
      bubble.textContent = text;
    }
  });
  return { id, text };
}

async function ask(side, model, prompt, system) {
  const column = columns[side];
  const list = column.section.querySelector(".chat");
  column.history.push({ role: "user", content: prompt });
  list.append(el("li", { class: "msg user" }, el("span", { class: "who" }, "You"), el("p", {}, prompt)));
  const bubble = el("p", { class: "streaming" }, "…");
  const item = el("li", { class: "msg assistant" }, el("span", { class: "who" }, model), bubble);
  list.append(item);
  const messages = [...(system ? [{ role: "system", content: system }] : []), ...column.history];
  try {
    const reply = await stream(side, model, messages, bubble);
    bubble.classList.remove("streaming");
    bubble.textContent = reply.text || "(empty reply)";
    column.history.push({ role: "assistant", content: reply.text });
    item.dataset.completion = reply.id;
    item.append(feedbackControls(reply.id, reply.text));
    return reply;
  } catch (error) {
    bubble.textContent = `Error: ${error.message}`;
    column.history.pop();
    throw error;
  }
}

function comparison(left, right) {
  const box = el("div", { class: "panel compare" }, el("p", {}, "Which answer is better?"));
  const send = (preferred, rejected) =>
    sendFeedback({ comparison: { preferred: preferred.id, rejected: rejected.id } }, box);
  box.append(
    el("button", { type: "button", onclick: () => send(left, right) }, "The left one"),
    " ",
    el("button", { type: "button", onclick: () => send(right, left) }, "The right one"),
  );
  $("columns").after(box);
}

start(async () => {
  const given = params();
  await modelOptions(form.elements.left, { selected: given.get("model") || "" });
  await modelOptions(form.elements.right, { selected: given.get("compare") || "", blank: "nothing: one model" });
  const title = () => {
    $("col-left-title").textContent = form.elements.left.value;
    $("col-right-title").textContent = form.elements.right.value;
    columns.right.section.hidden = !form.elements.right.value;
  };
  title();
  form.elements.left.addEventListener("change", title);
  form.elements.right.addEventListener("change", title);
  $("reset").addEventListener("click", () => {
    for (const column of Object.values(columns)) {
      column.history = [];
      clear(column.section.querySelector(".chat"));
    }
    document.querySelectorAll(".compare").forEach((n) => n.remove());
  });
  form.elements.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    const prompt = form.elements.prompt.value.trim();
    if (!prompt) return;
    const system = form.elements.system.value.trim();
    const right = form.elements.right.value;
    const firstTurn = columns.left.history.length === 0 && columns.right.history.length === 0;
    form.elements.prompt.value = "";
    $("send").disabled = true;
    try {
      const replies = await Promise.all([
        ask("left", form.elements.left.value, prompt, system),
        right ? ask("right", right, prompt, system) : null,
      ]);
      if (replies[1] && firstTurn && replies[0].text !== replies[1].text) comparison(replies[0], replies[1]);
    } catch (error) {
      showError(error);
    } finally {
      $("send").disabled = false;
      form.elements.prompt.focus();
    }
  });
});
