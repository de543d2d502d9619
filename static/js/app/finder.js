// The header's search box: suggestions as you type (conversations, persons, organisations, deals,
// leads), following the ARIA combobox pattern (a listbox popup, aria-activedescendant): arrow keys
// move through the suggestions, Enter opens one, Escape closes them (and then clears the box).
// Without this file the box is a plain form that opens /search?q=.
(function () {
  "use strict";

  var MIN_CHARS = 2;
  var DELAY_MS = 150;

  function setup(form) {
    var input = form.querySelector("input[name=q]");
    var url = form.getAttribute("data-suggest");
    if (!input || !url) { return; }
    var list = document.createElement("div");
    list.id = "finder-list";
    list.className = "finder-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    form.appendChild(list);
    form.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var options = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open() {
      if (!options.length) { close(); return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function highlight(index) {
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
        option.classList.toggle("is-active", i === index);
      });
      active = index;
      if (index < 0) {
        input.removeAttribute("aria-activedescendant");
      } else {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      }
    }

    function option(title, detail, href) {
      var element = document.createElement("div");
      element.setAttribute("role", "option");
      element.setAttribute("aria-selected", "false");
      element.id = "finder-option-" + options.length;
      element.className = "finder-option";
      element.setAttribute("data-url", href);
      var strong = document.createElement("span");
      strong.className = "finder-title";
      strong.textContent = title;
      element.appendChild(strong);
      if (detail) {
        var small = document.createElement("span");
        small.className = "finder-detail";
        small.textContent = detail;
        element.appendChild(small);
      }
      // mousedown, not click: the box keeps the focus (and the list stays open) until we leave.
      element.addEventListener("mousedown", function (event) {
        event.preventDefault();
        window.location.assign(href);
      });
      options.push(element);
      return element;
    }

    function render(data) {
      list.textContent = "";
      options = [];
      active = -1;
      (data.groups || []).forEach(function (group, g) {
        var box = document.createElement("div");
        box.setAttribute("role", "group");
        box.setAttribute("aria-labelledby", "finder-group-" + g);
        var label = document.createElement("div");
        label.id = "finder-group-" + g;
        label.className = "finder-group";
        label.setAttribute("role", "presentation");
        label.textContent = group.label;
        box.appendChild(label);
        group.items.forEach(function (item) {
          box.appendChild(option(item.title, item.detail, item.url));
        });
        list.appendChild(box);
      });
      var all = option(data.count ? "All results for “" + data.term + "”" :
                       (data.problem || "Nothing found for “" + data.term + "”") + " — open the search page",
                       "", data.all_url);
      all.classList.add("finder-all");
      list.appendChild(all);
      status.textContent = data.count ? data.count + " suggestion" + (data.count === 1 ? "" : "s") +
        ". Use the arrow keys to choose one." : "No suggestions.";
      open();
    }

    function lookUp() {
      var term = input.value.trim();
      if (term.length < MIN_CHARS) { list.textContent = ""; options = []; close(); return; }
      var ticket = ++asked;
      fetch(url + "?q=" + encodeURIComponent(term), {credentials: "same-origin",
                                                     headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (ticket !== asked || document.activeElement !== input) { return; }
          if (body && body.success) { render(body.data); }
        })
        .catch(function () { if (ticket === asked) { status.textContent = "Suggestions are unavailable."; } });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lookUp, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) { open(); if (list.hidden) { return; } }
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        var next = active + step;
        if (next >= options.length) { next = 0; }
        if (next < 0) { next = options.length - 1; }
        highlight(next);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) {
          event.preventDefault();
          window.location.assign(options[active].getAttribute("data-url"));
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        if (!list.hidden) { close(); } else { input.value = ""; }
      } else if (event.key === "Tab") {
        close();
      }
    });

    input.addEventListener("blur", close);
    input.addEventListener("focus", function () { if (options.length && input.value.trim().length >= MIN_CHARS) { open(); } });
  }

  function start() {
    document.querySelectorAll("form.finder[data-suggest]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
