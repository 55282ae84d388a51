// Small SVG charts drawn here (no chart library to vendor): a line chart of loss curves and a
// histogram. Each chart has a <title> and a text summary for screen readers.
import { clear, svg } from "./app.js";

const W = 640;
const H = 260;
const PAD = { left: 52, right: 16, top: 30, bottom: 38 };

function scale(lo, hi, a, b) {
  const span = hi - lo || 1;
  return (v) => a + ((v - lo) / span) * (b - a);
}

function ticks(lo, hi, n = 5) {
  const out = [];
  for (let i = 0; i <= n; i += 1) out.push(lo + ((hi - lo) * i) / n);
  return out;
}

function fmt(v) {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function frame(title, xs, ys, xLabel, yLabel) {
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": title,
    class: "plot",
  });
  root.append(svg("title", {}, title));
  const x = scale(xs[0], xs[1], PAD.left, W - PAD.right);
  const y = scale(ys[0], ys[1], H - PAD.bottom, PAD.top);
  const axes = svg("g", { class: "axes" });
  for (const t of ticks(ys[0], ys[1])) {
    axes.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(t), y2: y(t), class: "grid" }));
    axes.append(svg("text", { x: PAD.left - 6, y: y(t) + 4, "text-anchor": "end" }, fmt(t)));
  }
  for (const t of ticks(xs[0], xs[1])) {
    axes.append(
      svg("text", { x: x(t), y: H - PAD.bottom + 16, "text-anchor": "middle" }, Math.round(t)),
    );
  }
  axes.append(svg("text", { x: (W + PAD.left) / 2, y: H - 4, "text-anchor": "middle" }, xLabel));
  axes.append(
    svg("text", { x: 12, y: H / 2, transform: `rotate(-90 12 ${H / 2})`, "text-anchor": "middle" }, yLabel),
  );
  root.append(axes);
  return { root, x, y };
}

// series: [{name, cls, points: [[x, y], ...]}]
export function lineChart(container, series, { title, xLabel = "step", yLabel = "loss" }) {
  const all = series.flatMap((s) => s.points);
  clear(container);
  if (!all.length) return;
  const xs = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const lo = Math.min(...all.map((p) => p[1]));
  const hi = Math.max(...all.map((p) => p[1]));
  const room = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 1;
  const ys = [Math.max(0, lo - room), hi + room];
  const { root, x, y } = frame(title, xs, ys, xLabel, yLabel);
  const legend = svg("g", { class: "legend" });
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
    root.append(svg("path", { d: d.join(""), class: `line ${s.cls}` }));
    if (s.points.length < 40) {
      for (const p of s.points) root.append(svg("circle", { cx: x(p[0]), cy: y(p[1]), r: 2.5, class: `dot ${s.cls}` }));
    }
    const lx = PAD.left + i * 160;
    const ly = 12;
    legend.append(svg("line", { x1: lx, x2: lx + 18, y1: ly, y2: ly, class: `line ${s.cls}` }));
    legend.append(svg("text", { x: lx + 24, y: ly + 4 }, s.name));
  });
  root.append(legend);
  container.append(root);
}

// bins: [{lo, hi, count}]
export function histogram(container, bins, { title, xLabel = "tokens per example" }) {
  clear(container);
  if (!bins.length) return;
  const xs = [bins[0].lo, bins[bins.length - 1].hi + 1];
  const ys = [0, Math.max(...bins.map((b) => b.count))];
  const { root, x, y } = frame(title, xs, ys, xLabel, "examples");
  for (const b of bins) {
    const left = x(b.lo);
    const width = Math.max(1, x(b.hi + 1) - left - 2);
    root.append(
      svg(
        "rect",
        { x: left + 1, y: y(b.count), width, height: y(0) - y(b.count), class: "bar" },
        svg("title", {}, `${b.lo}–${b.hi} tokens: ${b.count} examples`),
      ),
    );
  }
  container.append(root);
}
