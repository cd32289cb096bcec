"use strict";
// The report page's behaviour: galleries filled page by page, the interactive maps and the
// comparison of two clusterings. Bulk data (files, orders, points) comes from data/*.js,
// loaded when first needed. Text from the data goes in through textContent and
// attributes, never as markup.
const PAGE = JSON.parse(document.getElementById("page-data").textContent);
const PER_PAGE = 200;
const ALL = new URLSearchParams(location.search).has("all");
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
  "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"];
const colour = (i) => PALETTE[i % PALETTE.length];

// Data scripts: data/NAME.js calls aeclust.loaded(NAME, value).
const loaded = new Map();
const waiting = new Map();
window.aeclust = {
  loaded(name, value) {
    loaded.set(name, value);
    for (const w of waiting.get(name) || []) { w.resolve(value); }
    waiting.delete(name);
  },
};
function load(name) {
  if (loaded.has(name)) { return Promise.resolve(loaded.get(name)); }
  return new Promise((resolve, reject) => {
    if (!waiting.has(name)) {
      waiting.set(name, []);
      const s = document.createElement("script");
      s.src = "data/" + name + ".js";
      s.onerror = () => {
        for (const w of waiting.get(name) || []) { w.reject(new Error("cannot load data/" + name + ".js")); }
        waiting.delete(name);
      };
      document.head.appendChild(s);
    }
    waiting.get(name).push({ resolve, reject });
  });
}
function bytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
  return out;
}
function memo(fn) {
  const cache = new Map();
  return (i) => { if (!cache.has(i)) { cache.set(i, fn(i)); } return cache.get(i); };
}

// A view: the rows of one dataset (its splits in order), their files and labels.
const view = memo((v) => load(PAGE.views[v].data).then((d) => {
  const spec = PAGE.views[v];
  const offsets = [];
  let o = 0;
  for (const s of spec.sets) { offsets.push(o); o += PAGE.sets[s].n; }
  return { index: v, spec, files: d.files, offsets, labels: d.labels ? bytes(d.labels) : null };
}));
function locate(rows, row) {
  let i = rows.offsets.length - 1;
  while (i > 0 && rows.offsets[i] > row) { i--; }
  return { i, local: row - rows.offsets[i] };
}
function fileOf(rows, row) {
  const { i, local } = locate(rows, row);
  const f = rows.files[i];
  return f.prefix + (f.names ? f.names[local] : String(local));
}
function linkOf(rows, row) {
  const f = rows.files[locate(rows, row).i];
  if (f.link_base === null) { return ""; }
  return "file://" + (f.link_base + fileOf(rows, row)).split("/").map(encodeURIComponent).join("/");
}
function sprite(rows, row) {
  const { i, local } = locate(rows, row);
  const set = PAGE.sets[rows.spec.sets[i]];
  const per = set.columns * set.columns;
  const sheet = Math.floor(local / per), j = local % per;
  const s = document.createElement("span");
  s.style.width = set.width + "px";
  s.style.height = set.height + "px";
  s.style.backgroundImage = "url(thumbs/" + set.prefix + "-" + sheet + ".jpg)";
  s.style.backgroundPosition = (-(j % set.columns) * set.width) + "px " + (-Math.floor(j / set.columns) * set.height) + "px";
  return { span: s, width: set.width };
}
function thumb(rows, row, title) {
  const a = document.createElement("a");
  a.className = "thumb";
  const file = fileOf(rows, row);
  a.dataset.file = file;
  a.title = file + " · " + title;
  const link = linkOf(rows, row);
  if (link) { a.href = link; }
  const { span, width } = sprite(rows, row);
  a.appendChild(span);
  const caption = document.createElement("small");
  caption.textContent = file.split("/").pop();
  caption.style.width = width + "px";
  a.appendChild(caption);
  return a;
}

// A gallery: its rows by cluster (most typical first), each row's cluster and confidence.
const gallery = memo((g) => Promise.all([load(PAGE.galleries[g].data), view(PAGE.galleries[g].view)]).then(([d, rows]) => {
  const spec = PAGE.galleries[g];
  const b = bytes(d.order);
  const order = new Uint32Array(b.length / 3);
  for (let i = 0; i < order.length; i++) { order[i] = b[3 * i] | (b[3 * i + 1] << 8) | (b[3 * i + 2] << 16); }
  const c = bytes(d.confidence);
  const bits = new Uint32Array(c.length / 2);
  for (let i = 0; i < bits.length; i++) { bits[i] = (c[2 * i] | (c[2 * i + 1] << 8)) << 16; }
  const confidence = new Float32Array(bits.buffer);
  const clusterOf = new Uint16Array(rows.spec.n);
  const confidenceOf = new Float32Array(rows.spec.n);
  for (let k = 0; k + 1 < d.starts.length; k++) {
    for (let j = d.starts[k]; j < d.starts[k + 1]; j++) { clusterOf[order[j]] = k; confidenceOf[order[j]] = confidence[j]; }
  }
  return { index: g, spec, rows, order, starts: d.starts, confidence, clusterOf, confidenceOf };
}));
function described(G, row) {
  return G.spec.names[G.clusterOf[row]] + " · " + G.spec.confidence + " " + G.confidenceOf[row].toPrecision(3);
}

// Galleries: a cluster is filled when opened, PER_PAGE thumbnails at a time.
// Appends the next page of `rows` (every one with ?all) to the thumbnails in `box`, each
// titled by `title(row)`; `more` stays shown while rows remain.
function appendPage(box, more, view, rows, title) {
  const from = box.childElementCount;
  const end = ALL ? rows.length : Math.min(rows.length, from + PER_PAGE);
  const frag = document.createDocumentFragment();
  for (let j = from; j < end; j++) { frag.appendChild(thumb(view, rows[j], title(rows[j]))); }
  box.appendChild(frag);
  more.hidden = end >= rows.length;
}
function fill(details) {
  const started = performance.now();
  return gallery(Number(details.dataset.gallery)).then((G) => {
    const c = Number(details.dataset.cluster);
    const members = G.order.subarray(G.starts[c], G.starts[c + 1]);
    appendPage(details.querySelector(".thumbs"), details.querySelector(".more"), G.rows, members,
      (row) => G.spec.confidence + " " + G.confidenceOf[row].toPrecision(3));
    details.dataset.fillMs = (performance.now() - started).toFixed(1);
  });
}
function filterGallery(g, c) {
  const section = document.querySelector('section.gallery[data-gallery="' + g + '"]');
  if (!section) { return; }
  for (const d of section.querySelectorAll("details.cluster")) {
    const chosen = Number(d.dataset.cluster) === c;
    d.hidden = !chosen;
    if (chosen && !d.open) { d.open = true; }
  }
  section.querySelector(".filter").hidden = false;
  section.dataset.filter = String(c);
  section.scrollIntoView({ block: "start" });
}
const filled = [];
for (const details of document.querySelectorAll("details.cluster")) {
  details.addEventListener("toggle", () => {
    if (details.open && details.querySelector(".thumbs").childElementCount === 0) { fill(details); }
  });
  details.querySelector(".more").addEventListener("click", () => fill(details));
  if (ALL) { details.open = true; filled.push(fill(details)); }
}
for (const section of document.querySelectorAll("section.gallery")) {
  section.querySelector(".unfilter").addEventListener("click", () => {
    for (const d of section.querySelectorAll("details.cluster")) { d.hidden = false; }
    section.querySelector(".filter").hidden = true;
    delete section.dataset.filter;
  });
}

// Maps: points coloured by a clustering's clusters (or by class); hover shows the image,
// a click on a point or a legend entry filters that clustering's gallery.
const GRID = 8;
function setUpMap(section) {
  const spec = PAGE.maps[Number(section.dataset.map)];
  const canvas = section.querySelector("canvas");
  const select = section.querySelector("select.colour");
  const legend = section.querySelector(".legend");
  const tip = section.querySelector(".tip");
  const candidates = PAGE.galleries.map((g, i) => [g, i]).filter(([g]) => g.view === spec.view);
  for (const [g, i] of candidates) {
    const o = document.createElement("option");
    o.value = "g" + i;
    o.textContent = "clusters of " + g.title;
    select.appendChild(o);
  }
  if (PAGE.views[spec.view].classes.length) {
    const o = document.createElement("option");
    o.value = "class";
    o.textContent = "true class";
    select.appendChild(o);
  }
  // First shown: the last clustering of these images (the pipeline lists its best last).
  if (candidates.length) { select.value = "g" + candidates[candidates.length - 1][1]; }
  const state = { xy: null, rows: null, G: null, grid: null };
  const size = 640, pad = 8;
  function place() {
    const n = state.xy.length / 2;
    const px = new Float32Array(n), py = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      px[i] = pad + state.xy[2 * i] / 65535 * (size - 2 * pad);
      py[i] = pad + (1 - state.xy[2 * i + 1] / 65535) * (size - 2 * pad);
    }
    const cells = size / GRID;
    const grid = Array.from({ length: cells * cells }, () => []);
    for (let i = 0; i < n; i++) { grid[Math.min(cells - 1, Math.floor(py[i] / GRID)) * cells + Math.min(cells - 1, Math.floor(px[i] / GRID))].push(i); }
    state.px = px; state.py = py; state.grid = grid;
  }
  function nearest(x, y) {
    const cells = size / GRID;
    const cx = Math.floor(x / GRID), cy = Math.floor(y / GRID);
    let best = -1, bestD = 36;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const gx = cx + dx, gy = cy + dy;
        if (gx < 0 || gy < 0 || gx >= cells || gy >= cells) { continue; }
        for (const i of state.grid[gy * cells + gx]) {
          const d = (state.px[i] - x) ** 2 + (state.py[i] - y) ** 2;
          if (d < bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }
  function categories() {
    if (state.G) {
      return { of: (i) => state.G.clusterOf[i], names: state.G.spec.names, sizes: state.G.spec.sizes };
    }
    const names = PAGE.views[spec.view].classes;
    const sizes = names.map(() => 0);
    for (const l of state.rows.labels) { sizes[l]++; }
    return { of: (i) => state.rows.labels[i], names, sizes };
  }
  function draw() {
    const started = performance.now();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = size * dpr; canvas.height = size * dpr;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size, size);
    const cat = categories();
    const byCategory = cat.names.map(() => []);
    for (let i = 0; i < state.px.length; i++) { (byCategory[cat.of(i)] || byCategory[0]).push(i); }
    ctx.globalAlpha = state.px.length > 20000 ? 0.5 : 0.8;
    const r = state.px.length > 20000 ? 1.5 : 2.5;
    byCategory.forEach((members, k) => {
      ctx.fillStyle = colour(k);
      for (const i of members) { ctx.fillRect(state.px[i] - r / 2, state.py[i] - r / 2, r, r); }
    });
    ctx.globalAlpha = 1;
    legend.replaceChildren();
    cat.names.forEach((name, k) => {
      const b = document.createElement("button");
      b.dataset.cluster = String(k);
      const sw = document.createElement("i");
      sw.style.background = colour(k);
      b.appendChild(sw);
      b.appendChild(document.createTextNode(name + " (" + cat.sizes[k] + ")"));
      if (state.G) { b.addEventListener("click", () => filterGallery(state.G.index, k)); } else { b.disabled = true; }
      legend.appendChild(b);
    });
    canvas.dataset.points = String(state.px.length);
    canvas.dataset.colouredBy = select.value;
    section.dataset.drawMs = (performance.now() - started).toFixed(1);
  }
  function recolour() {
    const g = select.value.startsWith("g") ? Number(select.value.slice(1)) : null;
    return (g === null ? Promise.resolve(null) : gallery(g)).then((G) => { state.G = G; draw(); });
  }
  select.addEventListener("change", recolour);
  const at = (e) => {
    const rect = canvas.getBoundingClientRect();
    return nearest((e.clientX - rect.left) * size / rect.width, (e.clientY - rect.top) * size / rect.height);
  };
  canvas.addEventListener("mousemove", (e) => {
    if (!state.grid) { return; }
    const i = at(e);
    if (i < 0) { tip.hidden = true; delete tip.dataset.file; return; }
    const file = fileOf(state.rows, i);
    tip.replaceChildren();
    tip.appendChild(sprite(state.rows, i).span);
    const name = document.createElement("div");
    name.textContent = file.split("/").pop();
    tip.appendChild(name);
    const what = document.createElement("div");
    const cat = categories();
    what.textContent = state.G ? described(state.G, i) : cat.names[cat.of(i)];
    tip.appendChild(what);
    tip.dataset.file = file;
    tip.dataset.row = String(i);
    tip.style.left = (canvas.offsetLeft + state.px[i] * canvas.clientWidth / size + 12) + "px";
    tip.style.top = (canvas.offsetTop + state.py[i] * canvas.clientHeight / size + 12) + "px";
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (e) => {
    if (!state.grid) { return; }
    const i = at(e);
    const G = state.G;
    if (i >= 0 && G) { filterGallery(G.index, G.clusterOf[i]); }
  });
  // Where row `row` is drawn, in client coordinates (for scripts and tests).
  section.pointOf = (row) => {
    const rect = canvas.getBoundingClientRect();
    return { x: rect.left + state.px[row] * rect.width / size, y: rect.top + state.py[row] * rect.height / size };
  };
  return Promise.all([load(spec.data), view(spec.view)]).then(([d, rows]) => {
    const b = bytes(d.points);
    state.xy = new Uint16Array(b.length / 2);
    for (let i = 0; i < state.xy.length; i++) { state.xy[i] = b[2 * i] | (b[2 * i + 1] << 8); }
    state.rows = rows;
    place();
    return recolour();
  });
}
const maps = [...document.querySelectorAll("section.map")].map(setUpMap);

// Two clusterings side by side: the contingency table of their clusters, the one-to-one
// matching of most images in common shaded; a click on a cell shows its images.
function matching(counts, ka, kb) {
  // Hungarian method on the square padded cost (max - count): row i -> column.
  const n = Math.max(ka, kb);
  let max = 0;
  for (const row of counts) { for (const v of row) { max = Math.max(max, v); } }
  const cost = (i, j) => (i < ka && j < kb ? max - counts[i][j] : max);
  const u = new Array(n + 1).fill(0), v = new Array(n + 1).fill(0);
  const p = new Array(n + 1).fill(0), way = new Array(n + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array(n + 1).fill(Infinity), used = new Array(n + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0];
      let delta = Infinity, j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) { continue; }
        const cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
        if (minv[j] < delta) { delta = minv[j]; j1 = j; }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) { u[p[j]] += delta; v[j] -= delta; } else { minv[j] -= delta; }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do { const j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0);
  }
  const match = new Array(ka).fill(-1);
  for (let j = 1; j <= n; j++) { if (p[j] - 1 < ka && j - 1 < kb) { match[p[j] - 1] = j - 1; } }
  return match;
}
function setUpCompare(section) {
  const [sa, sb] = [section.querySelector("select.a"), section.querySelector("select.b")];
  const table = section.querySelector(".table");
  const panel = section.querySelector(".cell-images");
  PAGE.galleries.forEach((g, i) => {
    const o = document.createElement("option");
    o.value = String(i);
    o.textContent = g.title;
    sa.appendChild(o);
  });
  function fillB() {
    const a = PAGE.galleries[Number(sa.value)];
    const keep = sb.value;
    sb.replaceChildren();
    let preferred = null;
    PAGE.galleries.forEach((g, i) => {
      if (i === Number(sa.value) || g.view !== a.view) { return; }
      const o = document.createElement("option");
      o.value = String(i);
      o.textContent = g.title;
      sb.appendChild(o);
      if (preferred === null && g.seed === a.seed) { preferred = String(i); }
    });
    if ([...sb.options].some((o) => o.value === keep)) { sb.value = keep; } else if (preferred !== null) { sb.value = preferred; }
  }
  let cell = { rows: [], A: null };
  function showMore() {
    appendPage(panel.querySelector(".thumbs"), panel.querySelector(".more"), cell.A.rows, cell.rows, (row) => described(cell.A, row));
  }
  panel.querySelector(".more").addEventListener("click", showMore);
  function render() {
    panel.hidden = true;
    if (!sb.value) { table.replaceChildren(); table.textContent = "No other clustering of the same images."; return Promise.resolve(); }
    return Promise.all([gallery(Number(sa.value)), gallery(Number(sb.value))]).then(([A, B]) => {
      const ka = A.spec.names.length, kb = B.spec.names.length;
      const counts = Array.from({ length: ka }, () => new Array(kb).fill(0));
      for (let r = 0; r < A.clusterOf.length; r++) { counts[A.clusterOf[r]][B.clusterOf[r]]++; }
      const match = matching(counts, ka, kb);
      let agree = 0;
      match.forEach((j, i) => { if (j >= 0) { agree += counts[i][j]; } });
      const t = document.createElement("table");
      const head = t.createTHead().insertRow();
      head.insertCell().textContent = A.spec.clustering + " \\ " + B.spec.clustering;
      B.spec.names.forEach((name) => { const th = document.createElement("th"); th.textContent = name; head.appendChild(th); });
      const body = t.createTBody();
      counts.forEach((row, i) => {
        const tr = body.insertRow();
        const th = document.createElement("th");
        th.textContent = A.spec.names[i];
        tr.appendChild(th);
        row.forEach((n, j) => {
          const td = tr.insertCell();
          td.textContent = String(n);
          td.className = "cell" + (match[i] === j ? " match" : "") + (n === 0 ? " empty" : "");
          td.dataset.a = String(i);
          td.dataset.b = String(j);
          if (n > 0) { td.addEventListener("click", () => showCell(A, B, i, j, match[i] === j, td)); }
        });
      });
      const note = document.createElement("p");
      note.textContent = "They agree on " + agree + " of " + A.clusterOf.length + " images (" + (100 * agree / A.clusterOf.length).toFixed(1) + " %) under the shaded matching.";
      table.replaceChildren(t, note);
      section.dataset.agree = String(agree);
    });
  }
  function showCell(A, B, i, j, matched, td) {
    for (const c of table.querySelectorAll("td.chosen")) { c.classList.remove("chosen"); }
    td.classList.add("chosen");
    const rows = [];
    for (let p = A.starts[i]; p < A.starts[i + 1]; p++) { if (B.clusterOf[A.order[p]] === j) { rows.push(A.order[p]); } }
    cell = { rows, A };
    panel.dataset.a = String(i);
    panel.dataset.b = String(j);
    panel.querySelector("h3").textContent = rows.length + " images in " + A.spec.names[i] + " of " + A.spec.title + " and " + B.spec.names[j] + " of " + B.spec.title + (matched ? ": the two agree" : ": the two disagree");
    panel.querySelector(".thumbs").replaceChildren();
    panel.hidden = false;
    showMore();
  }
  sa.addEventListener("change", () => { fillB(); render(); });
  sb.addEventListener("change", render);
  // First shown: the last two clusterings of the same images and seed (the pipeline lists
  // its best routes last: the GMM and SCAN on a folder).
  const last = PAGE.galleries.length - 1;
  let first = last - 1;
  while (first > 0 && (PAGE.galleries[first].view !== PAGE.galleries[last].view || PAGE.galleries[first].seed !== PAGE.galleries[last].seed)) { first--; }
  sa.value = String(Math.max(first, 0));
  fillB();
  if ([...sb.options].some((o) => o.value === String(last))) { sb.value = String(last); }
  return render();
}
const compares = [...document.querySelectorAll("section.compare")].map(setUpCompare);

Promise.all([...filled, ...maps, ...compares]).then(
  () => { document.body.dataset.loaded = "yes"; },
  (e) => { document.body.dataset.loaded = "failed"; console.error(e); },
);
document.body.dataset.readyMs = performance.now().toFixed(1);
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.name === "first-contentful-paint") { document.body.dataset.firstPaintMs = e.startTime.toFixed(1); }
  }
}).observe({ type: "paint", buffered: true });
