/* The search page's helpers (issue #15): the filters behind a button on narrow screens, the
   time strip's brushing, the basket and orders. The page works without. */
(function () {
  "use strict";
  var layout = document.getElementById("search-layout");
  var toggle = document.getElementById("filters-toggle");

  /* Filters behind a button on narrow screens: results come first. */
  if (layout && toggle) {
    var narrow = window.matchMedia("(max-width: 1000px)");
    var hasErrors = !!document.querySelector(".errors");
    function setCollapsed(collapsed) {
      layout.classList.toggle("filters-collapsed", collapsed);
      toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    }
    function apply() {
      toggle.hidden = !narrow.matches;
      setCollapsed(narrow.matches && !hasErrors);
    }
    toggle.addEventListener("click", function () {
      setCollapsed(toggle.getAttribute("aria-expanded") === "true");
      if (toggle.getAttribute("aria-expanded") === "true") {
        var first = document.getElementById("f-q");
        if (first) { first.focus(); }
      }
    });
    narrow.addEventListener("change", apply);
    apply();
  }

  /* Brushing the time strip: drag across bars to set From/Until, then search. */
  var strip = document.getElementById("time-strip");
  if (strip) {
    var links = Array.prototype.slice.call(strip.querySelectorAll("a[data-start]"));
    var anchor = null, current = null;
    function indexAt(x) {
      for (var i = 0; i < links.length; i++) {
        var r = links[i].getBoundingClientRect();
        if (x < r.right) { return i; }
      }
      return links.length - 1;
    }
    function mark(a, b) {
      var lo = Math.min(a, b), hi = Math.max(a, b);
      links.forEach(function (l, i) { l.parentNode.classList.toggle("brushed", i >= lo && i <= hi); });
      current = [lo, hi];
    }
    var bars = strip.querySelector(".bars");
    bars.addEventListener("pointerdown", function (ev) {
      anchor = indexAt(ev.clientX); mark(anchor, anchor); ev.preventDefault();
      bars.setPointerCapture(ev.pointerId);
    });
    bars.addEventListener("pointermove", function (ev) {
      if (anchor !== null) { mark(anchor, indexAt(ev.clientX)); }
    });
    bars.addEventListener("pointerup", function () {
      if (anchor === null || !current) { return; }
      anchor = null;
      var start = document.getElementById("f-start"), end = document.getElementById("f-end");
      start.value = links[current[0]].getAttribute("data-start");
      end.value = links[current[1]].getAttribute("data-end");
      document.getElementById("search-form").submit();
    });
    links.forEach(function (l) {  /* a drag must not follow the link; a click or Enter does */
      l.addEventListener("click", function (ev) { if (current && current[0] !== current[1]) { ev.preventDefault(); } });
    });
  }

  /* The basket (kept in this browser) and orders. */
  var basketEl = document.getElementById("basket");
  if (!basketEl) { return; }
  var KEY = "fieldcat-basket";
  function load() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function save(items) { localStorage.setItem(KEY, JSON.stringify(items)); render(); }
  var list = document.getElementById("basket-items");
  var count = document.getElementById("basket-count");
  var status = document.getElementById("order-status");
  function render() {
    var items = load();
    list.textContent = "";
    items.forEach(function (it) {
      var li = document.createElement("li");
      li.textContent = it.title + " (" + it.center + ")";
      list.appendChild(li);
    });
    count.textContent = String(items.length);
    document.getElementById("order-basket").disabled = items.length === 0;
    document.querySelectorAll(".add-basket").forEach(function (b) {
      var inside = items.some(function (it) { return it.id === b.getAttribute("data-id"); });
      b.setAttribute("aria-pressed", inside ? "true" : "false");
      b.textContent = inside ? "In basket (remove)" : "Add to basket";
      /* the visible words first, then which dataset (WCAG 2.5.3, label in name) */
      b.setAttribute("aria-label", b.textContent + ": " + b.getAttribute("data-title"));
    });
  }
  document.querySelectorAll(".result").forEach(function (row) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "add-basket";
    b.setAttribute("data-id", row.getAttribute("data-id"));
    b.setAttribute("data-title", row.getAttribute("data-title"));
    b.addEventListener("click", function () {
      var items = load(), id = row.getAttribute("data-id");
      var at = items.findIndex(function (it) { return it.id === id; });
      if (at >= 0) { items.splice(at, 1); }
      else { items.push({ id: id, title: row.getAttribute("data-title"), center: row.getAttribute("data-center") }); }
      save(items);
    });
    row.querySelector(".result-body").appendChild(b);
  });
  basketEl.hidden = false;
  var csrf = document.querySelector('meta[name="csrf-token"]');
  function order(body) {
    status.textContent = "Placing the order…";
    var headers = { "Content-Type": "application/json" };
    if (csrf) { headers["x-csrf-token"] = csrf.getAttribute("content"); }
    fetch(basketEl.getAttribute("data-orders"), { method: "POST", credentials: "same-origin", headers: headers, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return [r, j]; }); })
      .then(function (rj) {
        if (rj[0].status !== 202) { status.textContent = "The order was refused: " + (rj[1].detail || rj[0].status); return; }
        follow(rj[0].headers.get("Location"));
      });
  }
  function follow(url) {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
      status.textContent = "";
      if (s.state === "ready") {
        var zip = document.createElement("a"); zip.href = url + "/zip"; zip.id = "order-zip";
        zip.textContent = "Download the order (" + s.included + " of " + s.total + " datasets)";
        var script = document.createElement("a"); script.href = url + "/script";
        script.textContent = "or a curl script";
        status.append(zip, " ", script);
        if (s.left_out.length) {
          var ul = document.createElement("ul");
          s.left_out.forEach(function (it) { var li = document.createElement("li"); li.textContent = it.dataset + ": " + it.reason; ul.appendChild(li); });
          status.append(" Left out:", ul);
        }
      } else if (s.state === "failed") {
        status.textContent = "The order failed: " + s.error;
      } else {
        status.textContent = "Order " + s.state + ": " + s.done + " of " + s.total + " datasets done…";
        setTimeout(function () { follow(url); }, 1000);
      }
    });
  }
  document.getElementById("order-basket").addEventListener("click", function () {
    order({ datasets: load().map(function (it) { return it.id; }) });
  });
  document.getElementById("order-all").addEventListener("click", function () {
    order({ search: JSON.parse(document.getElementById("search-query").textContent || "{}") });
  });
  document.getElementById("basket-clear").addEventListener("click", function () { save([]); });
  render();
})();
