// The page side of digitlib.DrawingPad: a canvas that sends each finished stroke to
// Python, and the network's answer, its ten probabilities and the 28 x 28 image it read.
const SIDE = 280; // CSS pixels, as digitlib.drawing.SIDE
const MIN_STEP = 0.004; // points closer than this share of the side add nothing

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function render({ model, el }) {
  const root = element("div", "digitlib-pad", el);
  const left = element("div", "digitlib-pad-left", root);
  const canvas = element("canvas", "digitlib-pad-canvas", left);
  const scale = window.devicePixelRatio || 1;
  canvas.width = SIDE * scale;
  canvas.height = SIDE * scale;
  canvas.style.width = `${SIDE}px`;
  canvas.style.height = `${SIDE}px`;
  const ctx = canvas.getContext("2d");
  ctx.scale(scale, scale);
  const clear = element("button", "digitlib-pad-clear", left, "Clear");
  clear.type = "button";

  const right = element("div", "digitlib-pad-right", root);
  const answer = element("div", "digitlib-pad-answer", right);
  const bars = element("div", "digitlib-pad-bars", right);
  const rows = [];
  for (let digit = 0; digit < 10; digit++) {
    const row = element("div", "digitlib-pad-row", bars);
    element("span", "digitlib-pad-digit", row, String(digit));
    const track = element("span", "digitlib-pad-track", row);
    const bar = element("span", "digitlib-pad-bar", track);
    const value = element("span", "digitlib-pad-value", row, "");
    rows.push({ row, bar, value });
  }
  const seenBox = element("div", "digitlib-pad-seen", right);
  element("span", "digitlib-pad-caption", seenBox, "what the network reads");
  const seen = element("canvas", "digitlib-pad-seen-canvas", seenBox);
  seen.width = 28;
  seen.height = 28;

  const mapsPanel = element("div", "dl-feature-maps", right);

  function showMaps() {
    const layers = model.get("layer_maps");
    mapsPanel.style.display = layers.length ? "" : "none";
    mapsPanel.replaceChildren();
    if (!layers.length) return;
    element("div", "dl-feature-maps-title", mapsPanel,
            "what each convolution sees (bright: a strong response)");
    for (const layer of layers) {
      const box = element("figure", "dl-feature-maps-layer", mapsPanel);
      const picture = element("img", "dl-feature-maps-grid", box);
      picture.alt = `feature maps of ${layer.name}`;
      picture.src = layer.png;
      picture.onload = () => {
        picture.style.width = `${picture.naturalWidth * layer.scale}px`;
      };
      const [height, width, channels] = layer.shape;
      element("figcaption", "", box, `${layer.name}: ${channels} maps of ${height} × ${width}`);
    }
  }

  let current = null; // the stroke being drawn: [[x, y], ...] in [0, 1]
  let sentAt = null; // performance.now() when the last drawing went to Python

  function paint(points) {
    const width = model.get("brush") * SIDE;
    ctx.fillStyle = "white";
    ctx.strokeStyle = "white";
    ctx.lineWidth = width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    if (points.length === 1) {
      ctx.beginPath();
      ctx.arc(points[0][0] * SIDE, points[0][1] * SIDE, width / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    ctx.moveTo(points[0][0] * SIDE, points[0][1] * SIDE);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x * SIDE, y * SIDE);
    ctx.stroke();
  }

  function redraw() {
    ctx.fillStyle = "black";
    ctx.fillRect(0, 0, SIDE, SIDE);
    for (const stroke of model.get("strokes")) if (stroke.length) paint(stroke);
    if (current) paint(current);
  }

  function point(event) {
    const box = canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((event.clientX - box.left) / box.width),
            clamp((event.clientY - box.top) / box.height)];
  }

  function send(strokes) {
    const revision = model.get("revision") + 1;
    sentAt = performance.now();
    root.dataset.sent = String(revision);
    model.set("strokes", strokes);
    model.set("revision", revision);
    model.save_changes();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = [point(event)];
    paint(current);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const each of events.length ? events : [event]) {
      const next = point(each);
      const last = current[current.length - 1];
      if (Math.hypot(next[0] - last[0], next[1] - last[1]) < MIN_STEP) continue;
      current.push(next);
      paint([last, next]);
    }
  });
  const finish = () => {
    if (!current) return;
    const stroke = current;
    current = null;
    send([...model.get("strokes"), stroke]);
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  clear.addEventListener("click", () => {
    current = null;
    send([]);
    redraw();
  });

  function show() {
    const probabilities = model.get("probabilities");
    const text = model.get("answer");
    const best = probabilities.length ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    answer.textContent = best < 0 ? text : `${text}  (${Math.round(100 * probabilities[best])}%)`;
    answer.classList.toggle("digitlib-pad-prompt", best < 0);
    rows.forEach(({ row, bar, value }, digit) => {
      const p = probabilities.length ? probabilities[digit] : 0;
      bar.style.width = `${(100 * p).toFixed(1)}%`;
      value.textContent = probabilities.length ? `${Math.round(100 * p)}%` : "";
      row.classList.toggle("digitlib-pad-best", digit === best);
    });
    const pixels = model.get("seen");
    const picture = seen.getContext("2d").createImageData(28, 28);
    for (let k = 0; k < 28 * 28; k++) {
      const level = Math.round(255 * (pixels.length ? pixels[k] : 0));
      picture.data.set([level, level, level, 255], 4 * k);
    }
    seen.getContext("2d").putImageData(picture, 0, 0);
    const answered = model.get("answered");
    if (sentAt !== null && String(answered) === root.dataset.sent) {
      root.dataset.latencyMs = (performance.now() - sentAt).toFixed(1);
      sentAt = null;
    }
    root.dataset.answered = String(answered);
  }

  model.on("change:strokes", redraw);
  model.on("change:answered", show);
  model.on("change:answer", show);
  model.on("change:layer_maps", showMaps);
  redraw();
  show();
  showMaps();
  return () => {
    model.off("change:layer_maps", showMaps);
    model.off("change:strokes", redraw);
    model.off("change:answered", show);
    model.off("change:answer", show);
  };
}

export default { render };
