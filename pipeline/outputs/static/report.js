// report.html's script, inlined into the page by pipeline/outputs/report.py (the page's
// Content-Security-Policy allows exactly this text, by its sha256).
// Sorting, searching and paging the evidence table. The URL fragment (#q=word&sort=year&dir=desc&page=2)
// sets all three on load, and every search, sort and page turn writes them back (history.replaceState,
// also shown as the table's data-view), so the address a reviewer copies is the view they see.
// data-ready tells tests the script ran to the end.
(function () {
  "use strict";
  var table = document.getElementById("evidence-table");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var input = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var pageText = document.getElementById("page");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var size = Number(table.getAttribute("data-page-size"));
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var keys = {};                                      // column index -> each row's sort key, read once
  var order = rows.map(function (row, i) { return i; });  // row indices in the current sort order
  var matches = order;                                // the rows the search keeps, in that order
  var page = 0;
  var sortKey = "", sortDir = "";                     // the current sort, for the address

  function saveView() {
    var view = new URLSearchParams();
    if (input.value.trim()) { view.set("q", input.value.trim()); }
    if (sortKey) { view.set("sort", sortKey); view.set("dir", sortDir === "descending" ? "desc" : "asc"); }
    if (page > 0) { view.set("page", String(page + 1)); }
    var text = view.toString();
    table.setAttribute("data-view", text);
    try {
      history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
    } catch (e) { /* a file: page in some browsers refuses; the view still shows in data-view */ }
  }

  function showPage() {
    var pages = Math.max(1, Math.ceil(matches.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    var first = page * size, last = Math.min(first + size, matches.length);
    rows.forEach(function (row) { row.hidden = true; });
    for (var k = first; k < last; k += 1) { rows[matches[k]].hidden = false; }
    shown.textContent = matches.length + " of " + rows.length + " records";
    pageText.textContent = matches.length ? "rows " + (first + 1) + "\u2013" + last + ", page " + (page + 1) +
      " of " + pages : "";
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    saveView();
  }

  function filter() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    matches = order.filter(function (i) {
      return words.every(function (w) { return texts[i].indexOf(w) >= 0; });
    });
    page = 0;
    showPage();
  }

  function sortKeys(index) {
    if (!keys[index]) {
      keys[index] = rows.map(function (row) { return row.cells[index].textContent.trim(); });
    }
    return keys[index];
  }

  function sortBy(index, direction) {
    var numeric = heads[index].getAttribute("data-numeric") === "true";
    var sign = direction === "descending" ? -1 : 1;
    var key = sortKeys(index);
    var collator = new Intl.Collator(undefined, {sensitivity: "base"});
    order = rows.map(function (row, i) { return i; });
    order.sort(function (a, b) {
      var x = key[a], y = key[b];
      var c;
      if (numeric) {
        // Empty cells (no year) and cells that are not numbers (the record_id of a record without a
        // PMID) sort last whichever the direction, in the table's order.
        var nx = x === "" ? NaN : Number(x), ny = y === "" ? NaN : Number(y);
        if (isNaN(nx) || isNaN(ny)) { c = isNaN(nx) - isNaN(ny); return c || a - b; }
        c = nx - ny;
      } else {
        c = collator.compare(x, y);
      }
      return sign * c || a - b;
    });
    heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    heads[index].setAttribute("aria-sort", direction);
    sortKey = heads[index].getAttribute("data-key");
    sortDir = direction;
    order.forEach(function (i) { body.appendChild(rows[i]); });
    filter();
  }

  heads.forEach(function (head, index) {
    head.querySelector("button").addEventListener("click", function () {
      sortBy(index, head.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
    });
  });
  input.addEventListener("input", filter);
  prev.addEventListener("click", function () { page -= 1; showPage(); });
  next.addEventListener("click", function () { page += 1; showPage(); });

  var params = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (params.get("q")) { input.value = params.get("q"); }
  var key = params.get("sort");
  var index = heads.findIndex(function (h) { return h.getAttribute("data-key") === key; });
  if (index >= 0) { sortBy(index, params.get("dir") === "desc" ? "descending" : "ascending"); } else { filter(); }
  if (params.get("page")) { page = Number(params.get("page")) - 1 || 0; showPage(); }
  document.body.setAttribute("data-ready", "1");
})();
