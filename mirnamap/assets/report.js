/* mirnamap report: reads the JSON in #report-data and draws it. No network, no libraries.
 *
 * Colours follow mirnamap.plot: a score v on limit m has level 0.5 + 0.5 * clip(v / m, -1, 1)
 * and takes entry floor(256 * level) (at most 255) of the 256-colour diverging map, as
 * matplotlib's colour-map lookup does; no score (no pixel) is grey. Each record's binary block
 * is laid out as mirnamap.report's docstring says, and decoded when the record is opened. */
(function () {
  "use strict";

  const D = JSON.parse(document.getElementById("report-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const H = 25;
  const W = 100;
  const Q = 127;
  const METHODS = D.methods;
  const LUT = D.colours.lut;
  const MISSING = D.colours.missing;
  const RGB = LUT.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  const SHORT = ["5' tail", "5' arm", "loop", "3' arm", "3' tail", "background", "gap"];
  const SEVERAL = D.members.length > 1;
  const MIN_AGREEMENT = D.uncertainty.min_agreement;
  const state = {
    method: 0,
    shared: false,
    pixels: "overlay",
    sortKey: null,
    sortDir: 1,
    selected: -1,
    hot: -1,
  };
  const view = { box: null, home: null, circles: [], letters: [], cells: [], radius: 1 };
  const cache = new Map();
  const $ = (selector, root) => (root || document).querySelector(selector);

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function shape(tag, attributes, text) {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---------------------------------------------------------------- colours and numbers

  function levelOf(value, limit) {
    return 0.5 + 0.5 * Math.max(-1, Math.min(1, value / limit));
  }

  function lutIndex(level) {
    return Math.max(0, Math.min(255, Math.floor(level * 256)));
  }

  function colourOf(value, limit) {
    return Number.isFinite(value) ? LUT[lutIndex(levelOf(value, limit))] : MISSING;
  }

  function fmt(value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "n/a";
    if (value === 0) return "0";
    const size = Math.abs(value);
    return size >= 1e4 || size < 1e-3 ? value.toExponential(2) : value.toPrecision(3);
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? "\u2013" : value.toFixed(digits);
  }

  // The uncertainty rule of mirnamap.plot.unstable: fewer than MIN_AGREEMENT of the members
  // give the score the sign of their mean (NaN: not known, never marked).
  function unstable(agreement) {
    return SEVERAL && Number.isFinite(agreement) && agreement < MIN_AGREEMENT - 1e-6;
  }

  function agreeing(agreement) {
    return Math.round(agreement * D.members.length);
  }

  // The largest per-record limit of each method: one scale for every record.
  const SHARED = METHODS.map((_, j) =>
    [0, 1, 2].map((c) => D.records.reduce((m, r) => Math.max(m, r.limits[j][c] || 0), 0) || 1),
  );

  function limitsOf(record, j) {
    return state.shared ? SHARED[j] : record.limits[j];
  }

  // ------------------------------------------------------------------------ decoding

  function bytesOf(base64) {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  async function inflate(bytes) {
    if (typeof DecompressionStream === "undefined") {
      throw new Error(
        "this browser lacks DecompressionStream (Chrome 80, Firefox 113, Safari 16.4)",
      );
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer();
  }

  async function decode(k) {
    if (cache.has(k)) return cache.get(k);
    const record = D.records[k];
    const n = record.n;
    const buffer = await inflate(bytesOf(D.blocks[k]));
    let at = 0;
    const take = (Type, count) => {
      const array = new Type(buffer, at, count);
      at += count * Type.BYTES_PER_ELEMENT;
      return array;
    };
    const data = { xy: take(Float32Array, 2 * n), scores: [], sd: [], agree: [], channels: {} };
    for (let j = 0; j < METHODS.length; j++) {
      data.scores.push(take(Float32Array, n));
      data.sd.push(take(Float32Array, n));
      data.agree.push(take(Float32Array, n));
    }
    data.partner = take(Int16Array, n);
    data.layout = take(Int16Array, H * W);
    data.image = take(Uint8Array, H * W * 3);
    data.maps = METHODS.map(() => take(Int8Array, H * W));
    for (const m of D.channels) data.channels[m] = take(Int8Array, H * W * 3);
    if (at !== buffer.byteLength) throw new Error(`record ${record.id}: block of wrong size`);
    if (cache.size >= 200) cache.delete(cache.keys().next().value);
    cache.set(k, data);
    return data;
  }

  // ---------------------------------------------------------------------- controls

  function drawControls() {
    const box = $("#methods");
    METHODS.forEach((m, j) => {
      const verdict = D.verdicts[m];
      const button = element("button", { type: "button", role: "radio", "data-method": m });
      button.append(element("span", { class: "name" }, m));
      const badge = verdict
        ? element("span", { class: `badge ${verdict.level}` }, verdict.level)
        : element("span", { class: "badge none" }, "not benchmarked");
      badge.title = verdict ? verdict.verdict : "not in the ground-truth benchmark";
      button.append(badge);
      button.addEventListener("click", () => setMethod(j));
      box.append(button);
    });
    // One line per method: what the benchmark and the sanity check say of it.
    const list = $("#verdicts");
    for (const m of METHODS) {
      const verdict = D.verdicts[m];
      const level = verdict ? verdict.level : "none";
      const item = element("li", { "data-method": m });
      item.append(element("span", { class: `badge ${level}` }, verdict ? level : "n/a"));
      item.append(element("span", { class: "name" }, m + (m === D.default ? " (default)" : "")));
      const said = verdict ? verdict.verdict : "not in the ground-truth benchmark";
      const use = D.guide[m] ? ` \u2192 ${D.guide[m]}` : "";
      item.append(document.createTextNode(`: ${said}${use}`));
      list.append(item);
    }
    for (const input of document.querySelectorAll("input[name=pixels]")) {
      input.addEventListener("change", () => {
        if (input.checked) state.pixels = input.value;
        paint();
      });
    }
    for (const input of document.querySelectorAll("input[name=scale]")) {
      input.addEventListener("change", () => {
        state.shared = input.value === "shared" && input.checked;
        paint();
      });
    }
  }

  function setMethod(j) {
    state.method = j;
    for (const [i, button] of [...document.querySelectorAll("#methods button")].entries()) {
      button.setAttribute("aria-checked", String(i === j));
    }
    const m = METHODS[j];
    const verdict = D.verdicts[m];
    let text = `${m}: not in the ground-truth benchmark (no verdict).`;
    if (verdict) {
      const two = (v) => (v === null || v === undefined ? "n/a" : v.toFixed(2));
      const sanity = Object.entries(verdict.sanity)
        .map(([task, rho]) => `${task} ${two(rho)}`)
        .join(", ");
      text =
        `${m}: ${verdict.verdict} (ground-truth benchmark: mean AUROC ` +
        `${two(verdict.localisation)}, additive signed overlap ${two(verdict.additive_sign)}; ` +
        `sanity check, Spearman after randomisation: ${sanity}).`;
    }
    if (D.guide[m]) text += ` \u2192 ${D.guide[m]}.`;
    $("#verdict").textContent = text;
    updateShares();
    if (state.sortKey !== null && state.sortKey.startsWith("share")) sortRows();
    paint();
  }

  // ------------------------------------------------------------------------ overview

  const COLUMNS = [
    { key: "id", label: "id", text: true },
    { key: "n", label: "length" },
    { key: "p", label: "P", title: "P(pre-miRNA)" },
    { key: "sd", label: "\u00b1 sd", title: "sd of P across the ensemble's members" },
    {
      key: "pc",
      label: "calibrated",
      title: "the ensemble's temperature-scaled P(pre-miRNA); the call does not use it",
    },
    {
      key: "call",
      label: "pre-miRNA",
      title: `called pre-miRNA at P >= ${D.threshold} (P, not the calibrated one)`,
    },
    ...SHORT.map((label, i) => ({ key: `share${i}`, label, share: i })),
  ];
  const rows = [];
  const FIRST_SHARE = COLUMNS.findIndex((c) => c.share === 0);

  function valueOf(k, key) {
    const record = D.records[k];
    if (key.startsWith("share")) {
      const shares = record.shares[state.method];
      return shares ? shares[Number(key.slice(5))] : null;
    }
    return record[key];
  }

  function drawTable() {
    const head = $("#head");
    for (const column of COLUMNS) {
      const th = element("th", { "data-key": column.key, scope: "col" }, column.label);
      if (column.title) th.title = column.title;
      if (column.share !== undefined) th.title = `% of |map| on ${D.regions[column.share]}`;
      th.addEventListener("click", () => {
        state.sortDir = state.sortKey === column.key ? -state.sortDir : column.text ? 1 : -1;
        state.sortKey = column.key;
        sortRows();
      });
      head.append(th);
    }
    const body = $("#records tbody");
    const fragment = document.createDocumentFragment();
    D.records.forEach((record, k) => {
      const tr = element("tr", { "data-k": String(k), tabindex: "0" });
      tr.append(element("td", {}, record.id));
      tr.append(element("td", {}, String(record.n)));
      tr.append(element("td", {}, fixed(record.p, 3)));
      tr.append(element("td", {}, fixed(record.sd, 3)));
      tr.append(element("td", { class: "calibrated" }, fixed(record.pc, 3)));
      const call = record.call === null ? "\u2013" : record.call ? "yes" : "no";
      tr.append(element("td", { class: `call-${record.call}` }, call));
      for (let i = 0; i < SHORT.length; i++) tr.append(element("td", { class: "share" }));
      tr.addEventListener("click", () => openRecord(k));
      tr.addEventListener("keydown", (event) => {
        if (event.key === "Enter") openRecord(k);
      });
      rows.push(tr);
      fragment.append(tr);
    });
    body.append(fragment);
    $("#filter").addEventListener("input", filterRows);
    $("#call-filter").addEventListener("change", filterRows);
    filterRows();
  }

  function updateShares() {
    rows.forEach((tr, k) => {
      const shares = D.records[k].shares[state.method] || [];
      const cells = tr.children;
      for (let i = 0; i < SHORT.length; i++) {
        const share = shares[i];
        const blank = share === null || share === undefined;
        cells[FIRST_SHARE + i].textContent = blank ? "\u2013" : (100 * share).toFixed(1);
      }
    });
    $("#shares-of").textContent = `region columns: % of |${METHODS[state.method]}| map`;
  }

  function sortRows() {
    const key = state.sortKey;
    const order = rows.map((_, k) => k);
    const text = COLUMNS.find((c) => c.key === key).text;
    order.sort((a, b) => {
      const x = valueOf(a, key);
      const y = valueOf(b, key);
      if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1; // blanks last
      const c = text ? String(x).localeCompare(String(y), undefined, { numeric: true }) : x - y;
      return c * state.sortDir || a - b;
    });
    const fragment = document.createDocumentFragment();
    for (const k of order) fragment.append(rows[k]);
    $("#records tbody").append(fragment);
    for (const th of document.querySelectorAll("#head th")) {
      const on = th.dataset.key === key;
      th.setAttribute("aria-sort", on ? (state.sortDir > 0 ? "ascending" : "descending") : "none");
    }
  }

  function matcher(text) {
    const query = text.trim();
    if (query.length > 2 && query.startsWith("/") && query.endsWith("/")) {
      try {
        const pattern = new RegExp(query.slice(1, -1), "i");
        return (id) => pattern.test(id);
      } catch (error) {
        // Not a regular expression: match the text as it is.
      }
    }
    const lower = query.toLowerCase();
    return (id) => id.toLowerCase().includes(lower);
  }

  function filterRows() {
    const match = matcher($("#filter").value);
    const call = $("#call-filter").value;
    let shown = 0;
    rows.forEach((tr, k) => {
      const record = D.records[k];
      const keep = match(record.id) && (call === "all" || String(record.call) === call);
      tr.hidden = !keep;
      shown += keep;
    });
    $("#shown").textContent = `${shown} of ${rows.length} shown`;
  }

  function drawFailures() {
    if (!D.failures.length) return;
    const box = $("#failures");
    box.hidden = false;
    box.open = D.records.length === 0 || D.failures.length <= 20;
    $("summary", box).textContent = `${D.failures.length} record(s) without an explanation`;
    const body = $("tbody", box);
    for (const f of D.failures) {
      const tr = element("tr");
      tr.append(element("td", {}, String(f.index + 1)), element("td", {}, f.id));
      tr.append(element("td", {}, f.stage), element("td", {}, f.reason));
      body.append(tr);
    }
  }

  // -------------------------------------------------------------------- one record

  async function openRecord(k) {
    state.selected = k;
    for (const tr of rows) tr.classList.toggle("selected", Number(tr.dataset.k) === k);
    const record = D.records[k];
    let data;
    try {
      data = await decode(k);
    } catch (error) {
      $("#record-title").textContent = `${record.id}: could not be read (${error.message})`;
      return;
    }
    if (state.selected !== k) return; // another record was chosen meanwhile
    state.hot = -1;
    $("#record-title").textContent = record.id;
    const p = record.p === null ? "n/a" : record.p.toFixed(3);
    const sd = record.sd === null ? "" : ` \u00b1 ${record.sd.toFixed(3)}`;
    const call = record.call ? "called pre-miRNA" : "not called pre-miRNA";
    const calibrated =
      record.pc === null ? "" : ` \u00b7 calibrated P = ${record.pc.toFixed(3)}`;
    $("#record-facts").textContent =
      `${record.n} nt \u00b7 P(pre-miRNA) = ${p}${sd}${calibrated} \u00b7 ${call} ` +
      `(the call: P >= ${D.threshold}` +
      `${record.pc === null ? "" : ", not the calibrated P"}) \u00b7 ` +
      `input record #${record.index + 1}`;
    drawStructure(record, data);
    drawTrack(record, data);
    paint();
    document.body.dataset.record = record.id;
  }

  function current() {
    return state.selected >= 0 ? [D.records[state.selected], cache.get(state.selected)] : [];
  }

  function drawStructure(record, data) {
    const svg = $("#structure svg");
    const n = record.n;
    const points = [];
    for (let i = 0; i < n; i++) points.push([data.xy[2 * i], -data.xy[2 * i + 1]]);
    const steps = [];
    for (let i = 1; i < n; i++) {
      steps.push(Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]));
    }
    steps.sort((a, b) => a - b);
    const middle = steps.length >> 1;
    const step = !steps.length
      ? 1
      : steps.length % 2
        ? steps[middle]
        : (steps[middle - 1] + steps[middle]) / 2;
    const r = 0.48 * step;
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const low = [Math.min(...xs) - 4 * r, Math.min(...ys) - 4 * r];
    const size = [Math.max(...xs) - low[0] + 4 * r, Math.max(...ys) - low[1] + 4 * r];
    view.home = [low[0], low[1], size[0], size[1]];
    view.radius = r;
    const g = shape("g");
    const line = points.map((p) => p.join(",")).join(" ");
    g.append(
      shape("polyline", {
        points: line,
        fill: "none",
        stroke: "#8c8c8c",
        "stroke-width": 0.12 * r,
      }),
    );
    for (let i = 0; i < n; i++) {
      const j = data.partner[i];
      if (j > i) {
        const [a, b] = [points[i], points[j]];
        const attrs = {
          x1: a[0],
          y1: a[1],
          x2: b[0],
          y2: b[1],
          stroke: "#4d4d4d",
          "stroke-width": 0.22 * r,
        };
        g.append(shape("line", attrs));
      }
    }
    view.circles = [];
    view.letters = [];
    for (let i = 0; i < n; i++) {
      const [x, y] = points[i];
      const circle = shape("circle", { cx: x, cy: y, r, class: "nt", "data-i": String(i) });
      circle.setAttribute("vector-effect", "non-scaling-stroke");
      view.circles.push(circle);
      g.append(circle);
    }
    for (let i = 0; i < n; i++) {
      const [x, y] = points[i];
      const attrs = { x, y, dy: "0.35em", "text-anchor": "middle", "font-size": 1.1 * r };
      const letter = shape("text", attrs, record.seq[i]);
      view.letters.push(letter);
      g.append(letter);
    }
    // Every 10th nucleotide numbered beside it where no circle is, as mirnamap.plot's
    // label_position places it: 2.6 radii away from its partner (stems) or its
    // neighbours' centre (loops), turned by the least angle that keeps it 2 radii clear.
    const labelled = new Set([0, n - 1]);
    for (let i = 9; i < n; i += 10) labelled.add(i);
    const turns = [0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8];
    for (const i of labelled) {
      let away;
      const j = data.partner[i];
      if (j >= 0) {
        away = [points[i][0] - points[j][0], points[i][1] - points[j][1]];
      } else {
        const near = points.slice(Math.max(0, i - 3), i + 4);
        const centre = [0, 1].map((c) => near.reduce((s, p) => s + p[c], 0) / near.length);
        away = [points[i][0] - centre[0], points[i][1] - centre[1]];
      }
      const start = Math.hypot(away[0], away[1]) > 0 ? Math.atan2(away[1], away[0]) : 0;
      let best = null;
      let bestRoom = -1;
      for (const turn of turns) {
        const angle = start + (turn * Math.PI) / 8;
        const spot = [
          points[i][0] + 2.6 * r * Math.cos(angle),
          points[i][1] + 2.6 * r * Math.sin(angle),
        ];
        const room = Math.min(...points.map((p) => Math.hypot(p[0] - spot[0], p[1] - spot[1])));
        if (room >= 2 * r) {
          best = spot;
          break;
        }
        if (room > bestRoom) [best, bestRoom] = [spot, room];
      }
      const [x, y] = best;
      const label = i === 0 ? "5'" : i === n - 1 ? "3'" : String(i + 1);
      const attrs = {
        x,
        y,
        dy: "0.35em",
        "text-anchor": "middle",
        "font-size": 0.95 * r,
        fill: "#333",
      };
      g.append(shape("text", attrs, label));
    }
    svg.replaceChildren(g);
    setView(view.home.slice());
  }

  function setView(box) {
    view.box = box;
    $("#structure svg").setAttribute("viewBox", box.join(" "));
  }

  function zoomAt(factor, clientX, clientY) {
    const svg = $("#structure svg");
    if (!view.box) return;
    const inverse = svg.getScreenCTM().inverse();
    const rect = svg.getBoundingClientRect();
    const x = clientX === undefined ? rect.left + rect.width / 2 : clientX;
    const y = clientY === undefined ? rect.top + rect.height / 2 : clientY;
    const at = new DOMPoint(x, y).matrixTransform(inverse);
    const [bx, by, bw, bh] = view.box;
    setView([at.x - (at.x - bx) / factor, at.y - (at.y - by) / factor, bw / factor, bh / factor]);
  }

  function bindZoom() {
    const svg = $("#structure svg");
    svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX, event.clientY);
      },
      { passive: false },
    );
    let drag = null;
    svg.addEventListener("pointerdown", (event) => {
      if (!view.box) return;
      drag = {
        x: event.clientX,
        y: event.clientY,
        box: view.box.slice(),
        scale: svg.getScreenCTM().a,
      };
      svg.setPointerCapture(event.pointerId);
      svg.classList.add("panning");
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = (event.clientX - drag.x) / drag.scale;
      const dy = (event.clientY - drag.y) / drag.scale;
      setView([drag.box[0] - dx, drag.box[1] - dy, drag.box[2], drag.box[3]]);
    });
    const stop = () => {
      drag = null;
      svg.classList.remove("panning");
    };
    svg.addEventListener("pointerup", stop);
    svg.addEventListener("pointercancel", stop);
    svg.addEventListener("dblclick", () => view.home && setView(view.home.slice()));
    for (const button of document.querySelectorAll("#structure button")) {
      button.addEventListener("click", () => {
        const factor = Number(button.dataset.zoom);
        if (factor) zoomAt(factor);
        else if (view.home) setView(view.home.slice());
      });
    }
  }

  function drawTrack(record, data) {
    const svg = $("#track svg");
    const n = record.n;
    const cell = 11;
    const rowHeight = 16;
    const left = 12 + 7.4 * Math.max(...METHODS.map((m) => m.length));
    const top = 14;
    const width = left + n * cell + 8;
    const height = top + METHODS.length * rowHeight + 30;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const g = shape("g");
    for (const i of [0, ...Array.from({ length: Math.floor(n / 10) }, (_, t) => 10 * t + 9)]) {
      if (i < n)
        g.append(
          shape(
            "text",
            { x: left + (i + 0.5) * cell, y: 10, "text-anchor": "middle" },
            String(i + 1),
          ),
        );
    }
    view.cells = METHODS.map((m, j) => {
      const y = top + j * rowHeight;
      g.append(
        shape(
          "text",
          { x: left - 6, y: y + 11.5, "text-anchor": "end", class: "row", "data-j": String(j) },
          m,
        ),
      );
      const cells = [];
      for (let i = 0; i < n; i++) {
        const attrs = { x: left + i * cell, y, width: cell, height: rowHeight, class: "cell" };
        const rect = shape("rect", { ...attrs, "data-i": String(i), "data-j": String(j) });
        cells.push(rect);
        g.append(rect);
      }
      return cells;
    });
    // The unstable readings (mirnamap.plot.unstable): a dot, as in track.png.
    const marks = shape("g", { class: "marks" });
    let marked = 0;
    let counted = 0;
    METHODS.forEach((m, j) => {
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(data.scores[j][i])) continue;
        counted += Number.isFinite(data.agree[j][i]);
        if (!unstable(data.agree[j][i])) continue;
        marked += 1;
        const at = { cx: left + (i + 0.5) * cell, cy: top + j * rowHeight + rowHeight / 2 };
        marks.append(shape("circle", { ...at, r: 2.1, class: "unstable" }));
      }
    });
    g.append(marks);
    const below = top + METHODS.length * rowHeight;
    for (const [text, dy] of [
      [record.seq, 12],
      [record.db, 25],
    ]) {
      for (let i = 0; i < n; i++) {
        g.append(
          shape(
            "text",
            { x: left + (i + 0.5) * cell, y: below + dy, "text-anchor": "middle" },
            text[i],
          ),
        );
      }
    }
    svg.replaceChildren(g);
    const note = $("#track-note");
    note.hidden = !SEVERAL || counted === 0;
    note.textContent = `${D.uncertainty.note}: ${marked} of ${counted} cells.`;
  }

  // The map over the hairpin as mirnamap.plot draws it (mode "overlay"): the image faded,
  // the map's colour laid over it with opacity |level| ** 0.7; or the image, or the map alone.
  function drawPixels(canvas, image, values, stride, offset, scale, mode) {
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(W, H);
    for (let p = 0; p < W * H; p++) {
      const level = Math.max(-1, Math.min(1, (values[p * stride + offset] / Q) * scale));
      const colour = RGB[lutIndex(0.5 + 0.5 * level)];
      const alpha = Math.pow(Math.abs(level), 0.7);
      for (let c = 0; c < 3; c++) {
        let value = image[3 * p + c];
        if (mode === "map") {
          value = colour[c];
        } else if (mode === "overlay") {
          const faded = (0.45 * image[3 * p + c]) / 255 + 0.55;
          value = Math.round(255 * ((1 - alpha) * faded + (alpha * colour[c]) / 255));
        }
        pixels.data[4 * p + c] = value;
      }
      pixels.data[4 * p + 3] = 255;
    }
    context.putImageData(pixels, 0, 0);
  }

  function colourBar(box, limit, label, missing) {
    const stops = [];
    for (let s = 0; s <= 16; s++) stops.push(`${LUT[Math.min(255, s * 16)]} ${(100 * s) / 16}%`);
    const ramp = element("span", { class: "ramp" });
    ramp.style.background = `linear-gradient(to right, ${stops.join(", ")})`;
    const row = element("div", { class: "scale-row" });
    row.append(element("span", {}, fmt(-limit)), ramp, element("span", {}, fmt(limit)));
    if (missing) {
      const swatch = element("span", { class: "swatch" });
      swatch.style.background = MISSING;
      row.append(swatch, element("span", {}, "no pixel"));
    }
    box.replaceChildren(element("div", { class: "scale-label" }, label), row);
    box.dataset.limit = String(limit);
  }

  // Colours of everything that depends on the method and the scale.
  function paint() {
    const [record, data] = current();
    if (!record || !data) return;
    const j = state.method;
    const m = METHODS[j];
    const [scoreLimit, mapLimit, channelLimit] = limitsOf(record, j);
    const scores = data.scores[j];
    view.circles.forEach((circle, i) => {
      circle.setAttribute("fill", colourOf(scores[i], scoreLimit));
      circle.classList.toggle("unstable", Number.isFinite(scores[i]) && unstable(data.agree[j][i]));
      const dark = Number.isFinite(scores[i]) && Math.abs(scores[i]) / scoreLimit > 0.6;
      view.letters[i].setAttribute("fill", dark ? "#fff" : "#000");
    });
    view.cells.forEach((cells, row) => {
      const limit = limitsOf(record, row)[0];
      cells.forEach((rect, i) => rect.setAttribute("fill", colourOf(data.scores[row][i], limit)));
    });
    for (const label of document.querySelectorAll("#track text.row")) {
      label.classList.toggle("current", Number(label.dataset.j) === j);
    }
    const scope = state.shared ? "shared by all records" : "this record";
    colourBar($("#bar-scores"), scoreLimit, `${m}, nucleotide score (${scope}):`, true);
    const scale = record.limits[j][1] / mapLimit;
    drawPixels($("#canvas-image"), data.image, data.maps[j], 1, 0, scale, state.pixels);
    colourBar($("#bar-map"), mapLimit, `${m}, pixel map (${scope}):`, false);
    const channels = data.channels[m];
    $("#channel-panels").hidden = !channels;
    $("#no-channels").hidden = Boolean(channels);
    if (channels) {
      for (const canvas of document.querySelectorAll("#channel-panels canvas")) {
        const c = Number(canvas.dataset.channel);
        const scale = record.limits[j][2] / channelLimit;
        drawPixels(canvas, data.image, channels, 3, c, scale, state.pixels);
      }
      colourBar($("#bar-channels"), channelLimit, `${m}, per-channel map (${scope}):`, false);
    } else {
      const others = D.channels.length
        ? `this report has them for ${D.channels.join(", ")}`
        : "explain with channels=True (gradient family, gradient x input, integrated " +
          "gradients, SHAP) to keep them";
      $("#no-channels").textContent = `Per-channel maps are not available for ${m}: ${others}.`;
    }
  }

  // ----------------------------------------------------------------------- tooltip

  function nucleotideText(record, data, i, highlight) {
    const j = data.partner[i];
    const lines = [
      `${record.id} \u00b7 position ${i + 1} \u00b7 ${record.seq[i]}`,
      j >= 0 ? `paired with ${j + 1} (${record.seq[j]})` : "unpaired",
      `region: ${D.regions[Number(record.regions[i])]}`,
    ];
    const k = D.members.length;
    lines.push(
      SEVERAL
        ? `score \u00b1 sd over ${k} members \u00b7 members giving the mean's sign`
        : "score (one model)",
    );
    METHODS.forEach((m, row) => {
      const score = data.scores[row][i];
      const agreement = data.agree[row][i];
      let value = "no score (paints no pixel)";
      if (Number.isFinite(score)) {
        value = SEVERAL ? `${fmt(score)} \u00b1 ${fmt(data.sd[row][i])}` : fmt(score);
        if (SEVERAL && Number.isFinite(agreement)) {
          value += ` \u00b7 ${agreeing(agreement)}/${k}`;
          if (unstable(agreement)) value += " (unstable)";
        }
      }
      lines.push(`${row === highlight ? "\u25b8 " : "  "}${m}: ${value}`);
    });
    return lines.join("\n");
  }

  // Right of the pointer where the tooltip fits, else left of it; never past the window
  // (the box is measured at the top left, where nothing constrains its width).
  function showTip(text, event) {
    const tip = $("#tooltip");
    tip.textContent = text;
    tip.style.left = "0px";
    tip.style.top = "0px";
    tip.hidden = false;
    const width = tip.offsetWidth;
    const height = tip.offsetHeight;
    const room = document.documentElement.clientWidth;
    let x = event.clientX + 14;
    if (x + width > room - 6) x = event.clientX - 14 - width;
    const y = Math.min(event.clientY + 14, window.innerHeight - height - 6);
    tip.style.left = `${Math.max(4, Math.min(x, room - width - 4))}px`;
    tip.style.top = `${Math.max(4, y)}px`;
  }

  function hideTip() {
    $("#tooltip").hidden = true;
    setHot(-1);
  }

  function setHot(i) {
    if (state.hot === i) return;
    const previous = state.hot;
    state.hot = i;
    for (const k of [previous, i]) {
      if (k < 0 || k >= view.circles.length) continue;
      view.circles[k].classList.toggle("hot", k === i);
      for (const cells of view.cells) cells[k].classList.toggle("hot", k === i);
    }
  }

  function bindTooltips() {
    const structure = $("#structure svg");
    structure.addEventListener("mousemove", (event) => {
      const [record, data] = current();
      const circle = event.target.closest && event.target.closest("circle.nt");
      if (!record || !data || !circle) return hideTip();
      const i = Number(circle.dataset.i);
      setHot(i);
      showTip(nucleotideText(record, data, i, state.method), event);
    });
    structure.addEventListener("mouseleave", hideTip);
    const track = $("#track svg");
    track.addEventListener("mousemove", (event) => {
      const [record, data] = current();
      const rect = event.target.closest && event.target.closest("rect.cell");
      if (!record || !data || !rect) return hideTip();
      const i = Number(rect.dataset.i);
      setHot(i);
      showTip(nucleotideText(record, data, i, Number(rect.dataset.j)), event);
    });
    track.addEventListener("mouseleave", hideTip);
    for (const canvas of document.querySelectorAll("#image canvas, #channel-panels canvas")) {
      canvas.addEventListener("mousemove", (event) => {
        const [record, data] = current();
        if (!record || !data) return;
        const box = canvas.getBoundingClientRect();
        const x = Math.min(W - 1, Math.floor(((event.clientX - box.left) / box.width) * W));
        const y = Math.min(H - 1, Math.floor(((event.clientY - box.top) / box.height) * H));
        const p = data.layout[y * W + x];
        const j = state.method;
        const value = (data.maps[j][y * W + x] / Q) * record.limits[j][1];
        const pixel = `pixel (column ${x}, row ${y}): ${METHODS[j]} map \u2248 ${fmt(value)}`;
        if (p >= 0) {
          setHot(p);
          showTip(`${pixel}\n${nucleotideText(record, data, p, j)}`, event);
        } else {
          setHot(-1);
          showTip(`${pixel}\n${p === -2 ? "gap bar" : "background"}`, event);
        }
      });
      canvas.addEventListener("mouseleave", hideTip);
    }
  }

  // -------------------------------------------------------------------------- start

  function start() {
    const explained = D.records.length;
    $("#title").textContent = D.title;
    const model = D.members.length > 1 ? `an ensemble of ${D.members.length}` : "one model";
    $("#facts").textContent =
      `${explained} of ${D.n_records} records explained, ${D.failures.length} failed \u00b7 ` +
      `methods: ${METHODS.join(", ")} \u00b7 explained: the ${D.target} \u00b7 ${model}`;
    $("#structure-note").hidden = !SEVERAL;
    drawControls();
    drawTable();
    drawFailures();
    bindZoom();
    bindTooltips();
    setMethod(0);
    const ready = () => {
      document.body.dataset.ready = "1";
      window.mirnamapReadyAt = performance.now();
    };
    if (explained) {
      openRecord(0).then(ready);
    } else {
      $("#record-title").textContent = "no record was explained";
      $("#record .views").hidden = true;
      $("#track").hidden = true;
      ready();
    }
  }

  start();
})();
