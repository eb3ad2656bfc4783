// Keyboard shortcuts for the screening workspace. Pages work without this script (plain forms);
// it only maps keys to the buttons already on the page. Nothing here builds HTML.
"use strict";
(function () {
  var excluding = false;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function submit(formId, button) {
    var form = document.getElementById(formId);
    if (!form) return false;
    if (form.dataset.sent) return true;   // one decision per keystroke: no double submits
    form.dataset.sent = "1";
    if (button) form.requestSubmit(button); else form.requestSubmit();
    return true;
  }

  function choose(value) {
    var button = document.querySelector('#decide button[name="choice"][value="' + value + '"]');
    return button ? submit("decide", button) : false;
  }

  function setExcluding(on) {
    excluding = on;
    document.body.classList.toggle("excluding", on);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key.toLowerCase();
    var handled = false;
    if (excluding && /^[1-9]$/.test(key)) {
      handled = choose("exclude:" + key);
      setExcluding(false);
    } else if (key === "i") {
      handled = choose("include");
    } else if (key === "m") {
      handled = choose("maybe");
    } else if (key === "e") {
      if (!choose("exclude")) {      // with reasons configured: wait for the reason's number
        setExcluding(!!document.querySelector('#decide button[value^="exclude:"]'));
        handled = excluding;
      } else {
        handled = true;
      }
    } else if (key === "n") {
      var note = document.getElementById("note");
      if (note) { note.focus(); handled = true; }
    } else if (key === "u") {
      handled = submit("undo-form");
    } else if (key === "l") {
      window.location.assign("/list"); handled = true;
    } else if (key === "c" && document.getElementById("nav-conflicts")) {
      window.location.assign("/conflicts"); handled = true;
    } else if (key === "/") {
      var q = document.getElementById("q");
      if (q) { q.focus(); handled = true; }
    } else if (key === "escape") {
      setExcluding(false); handled = true;
    }
    if (handled) event.preventDefault();
  });
  // The tables follow every decision in the background; show when they are up to date again.
  var tables = document.getElementById("tables");
  function follow() {
    if (!tables || tables.dataset.state === "idle" || tables.dataset.state === "off") return;
    window.setTimeout(function () {
      fetch("/status", {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s) { tables.textContent = s.text; tables.dataset.state = s.state; }
          follow();
        })
        .catch(function () { window.setTimeout(follow, 5000); });
    }, 1000);
  }
  follow();
  document.body.dataset.ready = "1";
})();
