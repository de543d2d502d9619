/*
 * Smart Bcc task pane: shows the Bcc address the draft gets and the recipients' open deals and
 * leads; a pick is kept in the item's session data, where the event handlers read it too, and
 * the Bcc is updated at once. Uses window.SmartBcc from commands.js.
 */
(function () {
  "use strict";

  var S = window.SmartBcc;
  var busy = 0;

  function $(id) {
    return document.getElementById(id);
  }

  function showError(error) {
    var box = $("error");
    var message = error && error.message ? error.message : String(error || "");
    if (error && error.unreachable) {
      message = "Smart Bcc could not be reached. Check your connection, then reopen this pane.";
    }
    box.textContent = message;
    box.hidden = !message;
  }

  function status(text) {
    $("status").textContent = text || "";
  }

  function option(value, title, meta, checked) {
    var label = document.createElement("label");
    label.className = "option";
    var input = document.createElement("input");
    input.type = "radio";
    input.name = "choice";
    input.value = value;
    input.checked = checked;
    var text = document.createElement("span");
    var strong = document.createElement("span");
    strong.className = "title";
    strong.textContent = title;
    text.appendChild(strong);
    if (meta) {
      var small = document.createElement("span");
      small.className = "meta";
      small.textContent = meta;
      text.appendChild(small);
    }
    label.appendChild(input);
    label.appendChild(text);
    return label;
  }

  function groupLabel(text) {
    var p = document.createElement("p");
    p.className = "group-label";
    p.textContent = text;
    return p;
  }

  function render(result, choice) {
    $("address").textContent = result.address;
    $("reason").textContent = result.reason;
    var box = $("options");
    while (box.firstChild) {
      box.removeChild(box.firstChild);
    }
    var current = choice || "";
    box.appendChild(option("", "Automatic", "The only open deal of the recipients, else the company address.",
      current === ""));
    var deals = result.candidates.deals;
    var leads = result.candidates.leads;
    if (deals.length) {
      box.appendChild(groupLabel("Open deals"));
    }
    deals.concat(leads).forEach(function (entry, index) {
      if (index === deals.length && leads.length) {
        box.appendChild(groupLabel("Leads"));
      }
      var value = entry.item_type + ":" + entry.id;
      box.appendChild(option(value, entry.title, [entry.person_name, entry.bcc_address].filter(Boolean).join(" \u00b7 "),
        current === value));
    });
    if (!deals.length && !leads.length) {
      box.appendChild(groupLabel("The recipients have no open deals or leads"));
    }
    box.appendChild(option("none", "No deal", "Log to the company address: " + result.company_address,
      current === "none"));
  }

  function refresh() {
    busy += 1;
    showError("");
    return S.readDraft().then(function (draft) {
      return S.resolve(draft, true).then(function (result) {
        render(result, draft.choice);
        return result;
      });
    }).then(null, showError).then(function (value) {
      busy -= 1;
      return value;
    });
  }

  function pick(value) {
    showError("");
    status("Updating the Bcc\u2026");
    return S.writeChoice(value || null).then(function () {
      return S.ensureBcc(true);
    }).then(function (outcome) {
      render(outcome.result, value || null);
      status(outcome.changed ? "Bcc updated: " + outcome.result.address : "The Bcc already has this address.");
    }).then(null, function (error) {
      status("");
      showError(error);
    });
  }

  function saveToken() {
    var token = $("api-token").value.trim();
    try {
      if (token) {
        window.localStorage.setItem(S.TOKEN_SETTING, token);
      } else {
        window.localStorage.removeItem(S.TOKEN_SETTING);
      }
    } catch (e) { /* storage may be blocked; roaming settings below still work */ }
    var settings = Office.context.roamingSettings;
    if (settings) {
      if (token) {
        settings.set(S.TOKEN_SETTING, token);
      } else {
        settings.remove(S.TOKEN_SETTING);
      }
      settings.saveAsync(function () {
        refresh();
      });
    } else {
      refresh();
    }
  }

  Office.onReady(function () {
    $("create-deal").href = S.baseUrl() + "/deals";
    $("options").addEventListener("change", function (event) {
      if (event.target && event.target.name === "choice") {
        pick(event.target.value);
      }
    });
    $("save-token").addEventListener("click", saveToken);
    var item = Office.context.mailbox.item;
    if (item && typeof item.addHandlerAsync === "function" && Office.EventType && Office.EventType.RecipientsChanged) {
      // Recipients typed while the pane is open change the candidates.
      item.addHandlerAsync(Office.EventType.RecipientsChanged, function () {
        refresh();
      });
    }
    refresh();
  });

  window.SmartBccPane = { refresh: refresh, pick: pick, busy: function () { return busy; } };
}());
