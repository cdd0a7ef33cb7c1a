import SluiceJSON

/// The service-map page: one self-contained HTML document (inline CSS, JS and SVG, nothing from
/// outside the machine) that draws the snapshot embedded in it at once, then polls
/// `/api/servicemap?namespace=NS` every second. Pod-supplied text (paths, names) is only ever set
/// with `textContent`, never parsed as HTML.
public enum ServiceMapPage {
    /// The JSON of `/api/servicemap`.
    public static func json(_ snapshot: ServiceMap.Snapshot) -> String {
        (try? JSON.encodeString(snapshot, sortedKeys: true)) ?? "{}"
    }

    /// The page with `snapshot` embedded (`<` written as `\u003c`, so no text in it can close the
    /// script element) and `namespace` preselected in the filter.
    public static func html(_ snapshot: ServiceMap.Snapshot, namespace: String = "") -> String {
        var data = ""
        for c in json(snapshot).unicodeScalars {
            if c == "<" { data += "\\u003c" } else { data.unicodeScalars.append(c) }
        }
        var ns = ""
        for c in namespace.unicodeScalars
        where c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "." {
            ns.unicodeScalars.append(c)
        }
        return head + "<script id=\"initial\" type=\"application/json\">" + data + "</script>\n"
            + "<script>const initialNamespace = \"" + ns + "\";</script>\n" + script + "</body></html>\n"
    }

    static let head = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Sluice service map</title>
        <style>
        body { font: 13px system-ui, sans-serif; margin: 0; display: flex; height: 100vh; color: #222; }
        #main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
        header { padding: 8px 12px; background: #1e2a38; color: #fff; display: flex; gap: 16px; align-items: center; }
        header h1 { font-size: 15px; margin: 0; }
        #map { flex: 1; overflow: auto; background: #f7f9fb; }
        #details { width: 340px; border-left: 1px solid #ccd; padding: 10px; overflow: auto; background: #fff; }
        .ns-box { fill: #e8eef5; stroke: #9ab; rx: 8; }
        .ns-title { font-weight: 600; fill: #345; }
        .node circle { fill: #fff; stroke: #456; stroke-width: 2; }
        .node text { fill: #123; }
        path.edge { fill: none; stroke-width: 2.5; cursor: pointer; }
        path.edge.forwarded { stroke: #2e7d32; }
        path.edge.l7-denied { stroke: #ef6c00; stroke-dasharray: 6 3; }
        path.edge.dropped { stroke: #c62828; stroke-dasharray: 2 3; }
        .legend span { margin-right: 12px; }
        .sw { display: inline-block; width: 18px; height: 4px; vertical-align: middle; margin-right: 4px; }
        table { border-collapse: collapse; width: 100%; }
        td, th { border-bottom: 1px solid #dde; padding: 3px 4px; text-align: left; vertical-align: top; }
        tr.edge-row { cursor: pointer; }
        tr.edge-row.dropped td:first-child { border-left: 4px solid #c62828; }
        tr.edge-row.l7-denied td:first-child { border-left: 4px solid #ef6c00; }
        tr.edge-row.forwarded td:first-child { border-left: 4px solid #2e7d32; }
        #edge-detail dt { font-weight: 600; margin-top: 6px; }
        #edge-detail dd { margin: 0 0 0 8px; word-break: break-all; }
        </style></head><body>
        <div id="main">
        <header><h1>Sluice service map</h1>
        <label>Namespace <select id="ns-filter"><option value="">all</option></select></label>
        <span class="legend"><span><i class="sw" style="background:#2e7d32"></i>forwarded</span>
        <span><i class="sw" style="background:#ef6c00"></i>L7 denied</span>
        <span><i class="sw" style="background:#c62828"></i>dropped</span></span>
        <span id="status"></span></header>
        <div id="map"><svg id="graph" xmlns="http://www.w3.org/2000/svg" width="800" height="400"></svg></div>
        <div style="max-height: 35vh; overflow: auto; padding: 0 8px;"><table id="edges"><thead><tr>
        <th>source</th><th>destination</th><th>verdict</th><th>fwd</th><th>dropped</th><th>L7 denied</th>
        <th>protocols</th><th>ports</th></tr></thead><tbody></tbody></table></div>
        </div>
        <div id="details"><h3>Edge details</h3><p id="hint">Click an edge or a row.</p><dl id="edge-detail"></dl></div>

        """

    static let script = """
        <script>
        "use strict";
        const SVGNS = "http://www.w3.org/2000/svg";
        let current = JSON.parse(document.getElementById("initial").textContent);
        let selected = null;
        const filter = document.getElementById("ns-filter");
        function el(tag, attrs, text) {
          const e = tag === "svg" || ["g","circle","text","path","rect","marker","defs","title"].includes(tag)
            ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
          for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
          if (text !== undefined) e.textContent = text;
          return e;
        }
        function fillFilter(namespaces) {
          const want = filter.value || initialNamespace;
          const have = Array.from(filter.options).map(o => o.value).slice(1);
          if (have.join("\\n") !== namespaces.join("\\n")) {
            while (filter.options.length > 1) filter.remove(1);
            for (const ns of namespaces) filter.appendChild(el("option", {value: ns}, ns));
          }
          filter.value = namespaces.includes(want) ? want : "";
        }
        function draw(snap) {
          current = snap;
          fillFilter(snap.namespaces);
          const svg = document.getElementById("graph");
          while (svg.firstChild) svg.removeChild(svg.firstChild);
          const defs = el("defs");
          for (const [name, color] of [["forwarded","#2e7d32"],["l7-denied","#ef6c00"],["dropped","#c62828"]]) {
            const m = el("marker", {id: "arrow-" + name, viewBox: "0 0 10 10", refX: "22", refY: "5",
              markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse"});
            m.appendChild(el("path", {d: "M0,0 L10,5 L0,10 z", fill: color}));
            defs.appendChild(m);
          }
          svg.appendChild(defs);
          const groups = new Map();
          for (const n of snap.nodes) {
            const g = n.namespace || "(outside the cluster)";
            if (!groups.has(g)) groups.set(g, []);
            groups.get(g).push(n);
          }
          const keys = Array.from(groups.keys()).sort((a, b) => (a[0] === "(") - (b[0] === "(") || a.localeCompare(b));
          const pos = new Map();
          const colW = 230, rowH = 70;
          let maxRows = 1;
          keys.forEach((ns, i) => {
            const list = groups.get(ns);
            maxRows = Math.max(maxRows, list.length);
            const x = 20 + i * colW;
            const box = el("g", {"class": "namespace", "data-namespace": ns});
            box.appendChild(el("rect", {"class": "ns-box", x: x, y: 10, width: colW - 30, height: 50 + list.length * rowH}));
            box.appendChild(el("text", {"class": "ns-title", x: x + 10, y: 30}, ns));
            svg.appendChild(box);
            list.forEach((n, j) => pos.set(n.id, {x: x + 30, y: 70 + j * rowH, ns: ns}));
          });
          svg.setAttribute("width", Math.max(800, 40 + keys.length * colW));
          // Room below the rows for the widest arc (its bend grows with the distance it spans).
          svg.setAttribute("height", Math.max(300, 200 + maxRows * rowH, 160 + 0.3 * keys.length * colW));
          for (const e of snap.edges) {
            const a = pos.get(e.source), b = pos.get(e.destination);
            if (!a || !b) continue;
            // Arcs, not straight lines: nodes of different namespaces often share a row, and
            // straight edges along it would hide each other. The bend grows with the distance, so
            // edges into one node part; within a namespace the arc goes out to the right.
            const dx = b.x - a.x, dy = b.y - a.y;
            const bend = dx === 0 ? 0 : 18 + Math.abs(dx) * (dx > 0 ? 0.22 : 0.34);
            const side = dx === 0 ? 70 : 0;
            const d = "M" + a.x + "," + a.y + " C" + (a.x + dx / 3 + side) + "," + (a.y + dy / 3 + bend) + " " +
              (b.x - dx / 3 + side) + "," + (b.y - dy / 3 + bend) + " " + b.x + "," + b.y;
            const p = el("path", {"class": "edge " + e.verdict, d: d, "marker-end": "url(#arrow-" + e.verdict + ")",
              "data-source": e.source, "data-destination": e.destination});
            p.appendChild(el("title", {}, e.source + " -> " + e.destination + " (" + e.verdict + ")"));
            p.addEventListener("click", () => select(e));
            svg.appendChild(p);
          }
          for (const n of snap.nodes) {
            const q = pos.get(n.id);
            const g = el("g", {"class": "node", "data-id": n.id, "data-namespace": n.namespace});
            g.appendChild(el("circle", {cx: q.x, cy: q.y, r: 14}));
            g.appendChild(el("text", {x: q.x + 20, y: q.y + 4}, n.name));
            if (n.dnsNames.length) g.appendChild(el("title", {}, n.dnsNames.join(", ")));
            svg.appendChild(g);
          }
          const body = document.querySelector("#edges tbody");
          while (body.firstChild) body.removeChild(body.firstChild);
          for (const e of snap.edges) {
            const tr = el("tr", {"class": "edge-row " + e.verdict, "data-source": e.source, "data-destination": e.destination});
            for (const v of [e.source, e.destination, e.verdict, e.forwarded, e.dropped, e.l7Denied,
                             e.protocols.join(", "), e.ports.join(", ")]) tr.appendChild(el("td", {}, String(v)));
            tr.addEventListener("click", () => select(e));
            body.appendChild(tr);
          }
          document.getElementById("status").textContent = snap.flows + " flows, " + snap.nodes.length +
            " endpoints, " + snap.edges.length + " edges";
          if (selected) {
            const again = snap.edges.find(e => e.source === selected.source && e.destination === selected.destination);
            if (again) select(again);
          }
        }
        function select(e) {
          selected = e;
          document.getElementById("hint").textContent = e.source + " \\u2192 " + e.destination;
          const dl = document.getElementById("edge-detail");
          while (dl.firstChild) dl.removeChild(dl.firstChild);
          const add = (k, items) => {
            dl.appendChild(el("dt", {}, k));
            if (!items.length) dl.appendChild(el("dd", {}, "\\u2014"));
            for (const it of items) dl.appendChild(el("dd", {}, it));
          };
          add("verdict", [e.verdict + " (forwarded " + e.forwarded + ", dropped " + e.dropped + ", L7 denied " + e.l7Denied + ")"]);
          add("protocols", e.protocols);
          add("ports", e.ports.map(String));
          add("HTTP requests", Object.keys(e.requests).sort().map(k => k + " \\u00d7 " + e.requests[k]));
          add("HTTP responses", Object.keys(e.responses).sort().map(k => k + " \\u00d7 " + e.responses[k]));
          add("DNS names", e.dnsNames);
          add("drop reasons", e.dropReasons);
        }
        async function poll() {
          try {
            const r = await fetch("/api/servicemap?namespace=" + encodeURIComponent(filter.value), {cache: "no-store"});
            if (r.ok) draw(await r.json());
          } catch (err) {
            document.getElementById("status").textContent = "update failed: " + err;
          }
        }
        filter.addEventListener("change", poll);
        draw(current);
        setInterval(poll, 1000);
        </script>

        """
}
