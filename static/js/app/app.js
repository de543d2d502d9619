// Light enhancements for the Smart Bcc pages; every page also works without this file.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function say(element, text) {
    if (element) { element.textContent = text; }
  }

  // Copy buttons: the clipboard API where the page is a secure context, else select the text.
  function setupCopy() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var id = button.getAttribute("data-copy");
        var source = document.getElementById(id);
        var status = document.getElementById(id + "-status");
        if (!source) { return; }
        var text = source.textContent.trim();
        var fallback = function () {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          say(status, "Selected: press Ctrl+C (or ⌘C) to copy.");
        };
        if (!navigator.clipboard || !window.isSecureContext) { fallback(); return; }
        navigator.clipboard.writeText(text).then(function () {
          say(status, "Copied " + text + " to the clipboard.");
          button.textContent = "Copied";
          window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
        }, fallback);
      });
    });
  }

  // Forms that delete or change something for everyone ask first.
  function setupConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  // Mail frames grow to their content; they are same-origin (without scripts) so the height is readable.
  function setupFrames() {
    document.querySelectorAll("iframe.mail-frame").forEach(function (frame) {
      var fit = function () {
        try {
          var doc = frame.contentDocument;
          if (!doc || !doc.documentElement || !doc.body || !doc.body.firstChild) { return; }
          // The root's box height is the content's; scrollHeight would never shrink below the frame.
          var height = Math.ceil(doc.documentElement.getBoundingClientRect().height);
          frame.style.height = Math.min(Math.max(height + 8, 60), 4000) + "px";
        } catch (err) { /* leave the CSS height */ }
      };
      frame.addEventListener("load", function () {
        fit();
        window.setTimeout(fit, 300);
        // Opening the folded quote inside the frame changes its height.
        try { frame.contentDocument.addEventListener("toggle", fit, true); } catch (err) { /* not readable */ }
      });
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") { fit(); }
    });
  }

  // Type-ahead in the thread side panel: live results, linking with one click.
  function setupTypeahead() {
    var box = document.querySelector("[data-typeahead]");
    if (!box) { return; }
    var threadId = box.getAttribute("data-thread");
    var input = box.querySelector("#find-term");
    var kind = box.querySelector("#find-type");
    var list = box.querySelector("#find-results");
    var status = box.querySelector("#find-status");
    var timer = null;
    var latest = 0;

    function link(item) {
      say(status, "Linking " + item.title + "…");
      fetch("/app-api/threads/" + threadId + "/links", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ item_type: item.item_type, item_id: item.id })
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (result.ok) { window.location.reload(); return; }
        say(status, result.body.error || "That did not work; reload the page and try again.");
      }).catch(function () {
        say(status, "The server could not be reached; check your connection and try again.");
      });
    }

    function render(items) {
      list.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-block";
        var title = document.createElement("span");
        title.textContent = item.title;
        button.appendChild(title);
        if (item.detail) {
          var detail = document.createElement("span");
          detail.className = "muted";
          detail.textContent = item.detail;
          button.appendChild(detail);
        }
        button.setAttribute("aria-label", "Link to " + item.title);
        button.addEventListener("click", function () { link(item); });
        li.appendChild(button);
        list.appendChild(li);
      });
      say(status, items.length ? items.length + " found: choose one to link it."
                               : "Nothing found. Try other letters, or create a new item below.");
    }

    function search() {
      var term = input.value.trim();
      if (!term) { list.textContent = ""; say(status, "Type a few letters to search."); return; }
      var ticket = ++latest;
      var url = "/app-api/search?type=" + encodeURIComponent(kind.value) + "&term=" + encodeURIComponent(term);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          // An older, slower answer must not replace the results of what is typed now.
          if (ticket !== latest) { return; }
          if (body.success) { render(body.data); } else { say(status, body.error); }
        })
        .catch(function () { say(status, "The server could not be reached; try again."); });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    }
    input.addEventListener("input", later);
    kind.addEventListener("change", later);
    input.addEventListener("keydown", function (event) {
      // Down arrow moves into the results, like a list box.
      if (event.key === "ArrowDown") {
        var first = list.querySelector("button");
        if (first) { event.preventDefault(); first.focus(); }
      }
    });
    list.addEventListener("keydown", function (event) {
      var buttons = Array.prototype.slice.call(list.querySelectorAll("button"));
      var index = buttons.indexOf(document.activeElement);
      if (index < 0) { return; }
      if (event.key === "ArrowDown" && index < buttons.length - 1) { event.preventDefault(); buttons[index + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (index ? buttons[index - 1] : input).focus(); }
      if (event.key === "Escape") { input.focus(); }
    });
  }

  // The browser's time zone, for the server to show times in (a user's own choice on Your account
  // wins). Set on every page, sign-in included, so the first inbox is already in local time.
  function rememberTimeZone() {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { return; }
    if (!/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) { return; }
    if (document.cookie.split("; ").indexOf("tz=" + zone) >= 0) { return; }
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
  }

  rememberTimeZone();

  document.addEventListener("DOMContentLoaded", function () {
    setupCopy();
    setupConfirm();
    setupFrames();
    setupTypeahead();
  });
}());
