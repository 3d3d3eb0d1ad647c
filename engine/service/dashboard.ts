/**
 * @module service/dashboard
 * The live dashboard `abflow serve` serves at /dashboard: one self-contained page (no build step, no CDN) that polls
 * the JSON API every second and draws each job's DAG — nodes in columns by depth, edges between them — with per-node
 * rates, totals, dead letters and busy time, the queues on the edges, and the recent checkpoints. The API token is
 * read from the URL fragment (`/dashboard#token=…`), which browsers never send to the server.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>abflow</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #0f1419; color: #d8dee9; }
  header { padding: 12px 20px; background: #1b2129; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  .job { margin: 16px 20px; padding: 12px 16px; background: #161b22; border-radius: 8px; }
  .job h2 { font-size: 16px; margin: 0 0 8px; }
  .state { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #2d333b; margin-left: 8px; }
  .state.running { background: #1f6f43; } .state.failed { background: #8b1e1e; }
  svg text { fill: #d8dee9; font-size: 12px; }
  .node rect { fill: #22272e; stroke: #539bf5; rx: 6; }
  .node.sink rect { stroke: #57ab5a; } .node.source rect { stroke: #c69026; }
  .node .dead { fill: #e5534b; }
  .edge { stroke: #768390; fill: none; marker-end: url(#arrow); }
  table { border-collapse: collapse; font-size: 12px; margin-top: 8px; }
  td, th { padding: 2px 10px; text-align: right; } th { color: #768390; font-weight: normal; }
  #error { color: #e5534b; }
</style>
</head>
<body>
<header><h1>abflow</h1><span id="summary"></span><span id="error"></span></header>
<main id="jobs"></main>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const headers = token ? { authorization: 'Bearer ' + token } : {};
const previous = new Map();
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const fmt = (n) => n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n));

function layout(job) {
  const depth = new Map();
  const inputs = new Map();
  for (const e of job.edges) inputs.set(e.to, [...(inputs.get(e.to) || []), e.from]);
  const visit = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...(inputs.get(id) || []).map((p) => visit(p, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  const nodes = job.nodes.filter((n) => n.role !== 'dead_letters');
  nodes.forEach((n) => visit(n.id));
  const columns = [];
  for (const n of nodes) (columns[depth.get(n.id)] ||= []).push(n);
  const pos = new Map();
  columns.forEach((col, x) => col.forEach((n, y) => pos.set(n.id, { x: 20 + x * 210, y: 20 + y * 78 })));
  return { nodes, pos, width: 40 + columns.length * 210, height: 40 + Math.max(1, ...columns.map((c) => c.length)) * 78 };
}

function render(jobs) {
  const now = performance.now();
  document.getElementById('summary').textContent = jobs.length + ' job(s) · ' + jobs.filter((j) => j.state === 'running').length + ' running';
  document.getElementById('jobs').innerHTML = jobs.map((job) => {
    const { nodes, pos, width, height } = layout(job);
    const rate = (n) => {
      const key = job.id + '/' + n.id;
      const before = previous.get(key);
      const total = n.role === 'source' ? n.rowsOut : n.rowsIn;
      previous.set(key, { total, at: now });
      return before && now > before.at ? ((total - before.total) * 1000) / (now - before.at) : 0;
    };
    const edges = job.edges.filter((e) => pos.has(e.from) && pos.has(e.to)).map((e) => {
      const a = pos.get(e.from), b = pos.get(e.to);
      return '<path class="edge" d="M' + (a.x + 180) + ',' + (a.y + 28) + ' C' + (a.x + 195) + ',' + (a.y + 28) + ' ' + (b.x - 15) + ',' + (b.y + 28) + ' ' + b.x + ',' + (b.y + 28) + '"/>';
    }).join('');
    const boxes = nodes.map((n) => {
      const p = pos.get(n.id);
      return '<g class="node ' + n.role + '" data-node="' + esc(n.id) + '" transform="translate(' + p.x + ',' + p.y + ')"><rect width="180" height="56"/>' +
        '<text x="8" y="16"><tspan font-weight="bold">' + esc(n.id) + '</tspan> · ' + esc(n.kind) + '</text>' +
        '<text x="8" y="32" class="rate">' + fmt(rate(n)) + '/s · ' + fmt(n.role === 'source' ? n.rowsOut : n.rowsIn) + ' rows</text>' +
        '<text x="8" y="48"' + (n.dead ? ' class="dead"' : '') + '>' + n.dead + ' dead · ' + (n.watermark ? 'wm ' + n.watermark.slice(11, 19) : fmt(n.busyMs) + ' ms busy') + '</text></g>';
    }).join('');
    const queues = (job.queues || []).filter((q) => q.depth > 0).map((q) => esc(q.name) + ' ' + q.depth + '/' + q.capacity).join(' · ') || 'no queued batches';
    const checkpoints = job.checkpoints.slice(-5).reverse().map((c) => '<tr><td>#' + c.id + '</td><td>' + Math.round(c.ms) + ' ms</td><td>' + fmt(c.bytes) + ' B</td></tr>').join('');
    return '<section class="job" data-job="' + esc(job.name) + '"><h2>' + esc(job.name) + '<span class="state ' + job.state + '">' + job.state + '</span></h2>' +
      '<div>' + fmt(job.rowsIn) + ' in · ' + fmt(job.rowsOut) + ' out · ' + job.deadLetters + ' dead letters · queues: ' + queues + '</div>' +
      (job.error ? '<div id="error">' + esc(job.error) + '</div>' : '') +
      '<svg width="' + width + '" height="' + height + '"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#768390"/></marker></defs>' + edges + boxes + '</svg>' +
      '<table><tr><th>checkpoint</th><th>duration</th><th>size</th></tr>' + (checkpoints || '<tr><td colspan="3">none yet</td></tr>') + '</table></section>';
  }).join('');
}

async function poll() {
  try {
    const res = await fetch('/jobs', { headers });
    if (!res.ok) throw new Error('API answered ' + res.status + (res.status === 401 ? ' (open /dashboard#token=…)' : ''));
    render(await res.json());
    document.getElementById('error').textContent = '';
  } catch (e) {
    document.getElementById('error').textContent = e.message;
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;
