// The link graph drawing: the nodes and edges of the page's tables (read from the JSON
// block #graph-data), drawn with the vendored cytoscape. Nodes differ by shape and label,
// not by colour alone; each edge is labelled with its weight and kind. Clicking an edge, or
// pressing Enter on the edge chosen with the arrow keys while the drawing has focus, opens
// its waterfall. Without this script the tables below are the page.
(function () {
  "use strict";
  var box = document.getElementById("graph-canvas");
  var data = document.getElementById("graph-data");
  if (!box || !data || typeof window.cytoscape !== "function") { return; }
  var graph = JSON.parse(data.textContent);
  var said = document.getElementById("graph-selected");
  var elements = [];
  graph.nodes.forEach(function (n) {
    elements.push({ group: "nodes", data: { id: n.id, label: n.label, title: n.title }, classes: n.kind });
  });
  graph.edges.forEach(function (e) {
    elements.push({
      group: "edges",
      data: { id: e.id, source: e.source, target: e.target, label: e.label, title: e.title, url: e.url },
      classes: e.relation
    });
  });
  var cy = window.cytoscape({
    container: box,
    elements: elements,
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: { "label": "data(label)", "font-size": 12, "color": "#1d2330",
        "text-valign": "bottom", "text-margin-y": 3, "border-width": 2, "border-color": "#1d2330",
        "width": 22, "height": 22, "text-wrap": "ellipsis", "text-max-width": 140 } },
      { selector: "node.own-record", style: { "shape": "ellipse", "background-color": "#cfe0fb" } },
      { selector: "node.neighbour-record", style: { "shape": "diamond", "background-color": "#f3e2cf" } },
      { selector: "node.neighbour-person", style: { "shape": "hexagon", "background-color": "#1d2330",
        "width": 30, "height": 30 } },
      { selector: "edge", style: { "label": "data(label)", "font-size": 11, "width": 2,
        "line-color": "#5b6475", "curve-style": "bezier", "text-background-color": "#ffffff",
        "text-background-opacity": 0.85, "text-background-padding": 1, "color": "#1d2330" } },
      { selector: "edge.same-person", style: { "line-style": "solid", "line-color": "#1f5fbf" } },
      { selector: "edge.namesake", style: { "line-style": "dashed" } },
      { selector: "edge.same-address", style: { "line-style": "dotted", "width": 3 } },
      { selector: "edge:selected", style: { "width": 5, "line-color": "#a23b00" } }
    ],
    minZoom: 0.2,
    maxZoom: 3,
    layout: { name: "cose", animate: false, randomize: false, nodeDimensionsIncludeLabels: false,
      idealEdgeLength: function () { return 90; }, nodeRepulsion: function () { return 9000; },
      componentSpacing: 60, padding: 16 }
  });
  // Readable labels first: a large graph opens on this person's records, to pan or zoom from.
  if (cy.zoom() < 0.7) {
    cy.zoom(0.7);
    cy.center(cy.nodes(".own-record"));
  }
  var edges = cy.edges();
  var current = -1;

  function choose(index) {
    if (!edges.length) { return; }
    current = (index + edges.length) % edges.length;
    cy.edges().unselect();
    var edge = edges[current];
    edge.select();
    cy.center(edge);
    said.textContent = "Edge " + (current + 1) + " of " + edges.length + ": " +
      edge.data("title") + ". Press Enter to open its waterfall.";
  }

  cy.on("tap", "edge", function (event) {
    window.location.assign(event.target.data("url"));
  });
  box.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      event.preventDefault();
      choose(current + 1);
    } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      event.preventDefault();
      choose(current - 1);
    } else if (event.key === "Enter" && current >= 0) {
      event.preventDefault();
      window.location.assign(edges[current].data("url"));
    }
  });
  box.dataset.drawn = String(cy.nodes().length);
})();
