/*
 * Smart Bcc task pane: shows the Bcc address the draft gets and the recipients' open deals and
 * leads; a pick is kept in the item's session data, where the event handlers read it too, and
 * the Bcc is updated at once. Uses window.SmartBcc from commands.js. Opened outside Outlook (a
 * plain browser: no Office, or Office.onReady without a host) it says so and links to the
 * settings page instead of waiting for recipients that never come.
 */
(function () {
  "use strict";

  var S = window.SmartBcc;
  var busy = 0;
  var OUTSIDE_AFTER_MS = 5000; // office.js that never gets ready: not inside Outlook either
  var running = false;

  function $(id) {
    return document.getElementById(id);
  }

  function outsideOutlook() {
    if (running) {
      return;
    }
    $("settings-link").href = S.baseUrl() + "/settings";
    $("pane").hidden = true;
    $("outside").hidden = false;
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

  function reasonList(reasons) {
    var ul = document.createElement("ul");
    ul.className = "reasons";
    (reasons || []).forEach(function (reason) {
      var li = document.createElement("li");
      li.textContent = reason;
      ul.appendChild(li);
    });
    return ul;
  }

  function scoreText(entry) {
    return typeof entry.score === "number" ? "score " + entry.score.toFixed(2) : "";
  }

  // The deal the ranking puts first (pre-selected under the company's "suggest" policy): shown
  // with its reasons and one button, unless the rep already picked it.
  function topSuggestion(result) {
    if (result.suggested) {
      return result.suggested;
    }
    var deals = result.candidates.deals;
    return result.needs_deal_choice && deals.length && typeof deals[0].score === "number"
      ? deals[0]
      : null;
  }

  function renderSuggestion(result, current) {
    var top = topSuggestion(result);
    var box = $("suggestion");
    box.hidden = !top || current === "deal:" + top.id;
    if (box.hidden) {
      return;
    }
    $("suggestion-title").textContent =
      top.title + (top.person_name ? " (" + top.person_name + ")" : "");
    $("suggestion-score").textContent = scoreText(top);
    var list = $("suggestion-reasons");
    list.textContent = "";
    (top.reasons && top.reasons.length ? top.reasons : ["No evidence either way."]).forEach(
      function (reason) {
        var li = document.createElement("li");
        li.textContent = reason;
        list.appendChild(li);
      }
    );
    $("use-suggestion").setAttribute("data-choice", "deal:" + top.id);
  }

  function renderPrivacy(privacy) {
    if (!privacy) {
      return;
    }
    var inputs = document.querySelectorAll("#privacy input[name=privacy]");
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].checked = inputs[i].value === privacy.effective;
    }
    $("privacy-note").textContent = privacy.chosen
      ? "Marked " + privacy.chosen + " for this mail."
      : "Your setting for new conversations (" + privacy.default + ").";
  }

  function option(value, title, meta, checked, reasons) {
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
    if (reasons && reasons.length) {
      text.appendChild(reasonList(reasons));
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
    box.appendChild(
      option(
        "",
        "Automatic",
        "The only open deal of the recipients, else the company address.",
        current === ""
      )
    );
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
      box.appendChild(
        option(
          value,
          entry.title,
          [entry.person_name, scoreText(entry), entry.bcc_address].filter(Boolean).join(" \u00b7 "),
          current === value,
          entry.reasons
        )
      );
    });
    if (!deals.length && !leads.length) {
      box.appendChild(groupLabel("The recipients have no open deals or leads"));
    }
    box.appendChild(
      option(
        "none",
        "No deal",
        "Log to the company address: " + result.company_address,
        current === "none"
      )
    );
    renderSuggestion(result, current);
    renderPrivacy(result.privacy);
  }

  function showMissing(result, draft) {
    var plan = S.planBcc(draft.bcc, result);
    $("missing").hidden = plan.present;
    $("missing-text").textContent =
      "This mail's Bcc does not have its Smart Bcc address (" +
      result.address +
      ") yet, so it will not be logged.";
  }

  function refresh() {
    busy += 1;
    showError("");
    return S.readDraft()
      .then(function (draft) {
        return S.resolve(draft, true).then(function (result) {
          render(result, draft.choice);
          showMissing(result, draft);
          return result;
        });
      })
      .then(null, showError)
      .then(function (value) {
        busy -= 1;
        return value;
      });
  }

  function pick(value) {
    showError("");
    status("Updating the Bcc\u2026");
    return S.writeChoice(value || null)
      .then(function () {
        return S.ensureBcc(true);
      })
      .then(function (outcome) {
        render(outcome.result, value || null);
        $("missing").hidden = true;
        status(
          outcome.changed
            ? "Bcc updated: " + outcome.result.address
            : "The Bcc already has this address."
        );
      })
      .then(null, function (error) {
        status("");
        showError(error);
      });
  }

  // Private or shared, for the conversation this mail starts: kept in the item's session data
  // (the compose events read it too) and carried by the Smart Bcc address's tag.
  function choosePrivacy(value) {
    showError("");
    status("Updating the Bcc\u2026");
    return S.writePrivacy(value)
      .then(function () {
        return Promise.all([S.ensureBcc(true), S.readChoice()]);
      })
      .then(function (v) {
        render(v[0].result, v[1]);
        $("missing").hidden = true;
        status("Marked " + value + ": the Bcc has " + v[0].result.address);
      })
      .then(null, function (error) {
        status("");
        showError(error);
      });
  }

  // ---- mail sent earlier whose copy has not been logged: fetch it or dismiss it

  function api(method, path) {
    return S.getToken(false)
      .then(function (token) {
        return window.fetch(S.baseUrl() + path, {
          method: method,
          headers: { Authorization: "Bearer " + token, Accept: "application/json" },
        });
      })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok || !body || !body.success) {
            throw new Error((body && body.error) || "Smart Bcc answered " + response.status + ".");
          }
          return body.data;
        });
      });
  }

  function notLoggedItem(entry) {
    var li = document.createElement("li");
    li.className = "not-logged-item";
    var title = document.createElement("span");
    title.className = "title";
    title.textContent = entry.subject || "(no subject)";
    var meta = document.createElement("span");
    meta.className = "meta";
    var recipients = (entry.recipients || []).join(", ");
    var to = recipients ? "To " + recipients + " \u00b7 " : "";
    meta.textContent = to + "sent " + entry.waited_minutes + " min ago";
    li.appendChild(title);
    li.appendChild(meta);
    var actions = document.createElement("div");
    actions.className = "actions";
    (entry.actions || []).forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = action.name === "fetch" ? "btn btn-primary" : "btn";
      button.textContent = action.name === "fetch" ? "Fetch and log" : "Dismiss";
      button.setAttribute("data-action", action.name);
      button.addEventListener("click", function () {
        act(action, button);
      });
      actions.appendChild(button);
    });
    li.appendChild(actions);
    return li;
  }

  function showNotLogged(entries) {
    var list = $("not-logged-list");
    list.textContent = "";
    (entries || []).forEach(function (entry) {
      list.appendChild(notLoggedItem(entry));
    });
    $("not-logged").hidden = !list.children.length;
    return entries;
  }

  function notLogged() {
    // Sign-in problems are shown by the draft's part of the pane; this list just stays hidden.
    return api("GET", "/api/v1/mailbox/notLogged").then(showNotLogged, function () {
      return showNotLogged([]);
    });
  }

  function act(action, button) {
    button.disabled = true;
    showError("");
    status(action.name === "fetch" ? "Looking in your mailbox\u2026" : "");
    return api(action.method, action.href)
      .then(function (data) {
        status(data.message || "");
        return notLogged();
      })
      .then(null, function (error) {
        button.disabled = false;
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
    } catch (blocked) {
      // Roaming settings below still keep the token.
      status(
        "This browser blocks local storage (" +
          blocked.name +
          "): Outlook's settings keep the token."
      );
    }
    var settings = window.Office.context.roamingSettings;
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

  function addNow() {
    return S.readChoice().then(pick);
  }

  // Opened from a Smart Alert's "Add Smart Bcc" button (Mailbox 1.14 contextData): add at once.
  function fromSmartAlert(item) {
    if (!item || typeof item.getInitializationContextAsync !== "function") {
      return Promise.resolve(false);
    }
    return new Promise(function (resolve) {
      item.getInitializationContextAsync(function (result) {
        var context = null;
        try {
          context = result && result.value ? JSON.parse(result.value) : null;
        } catch (error) {
          context = { ignored: String(error) };
        }
        resolve(!!context && context.smartbcc === "add");
      });
    });
  }

  function start(info) {
    var mailbox = window.Office.context && window.Office.context.mailbox;
    if (running) {
      return;
    }
    if (!info || !info.host || !mailbox || !mailbox.item) {
      outsideOutlook();
      return;
    }
    // A slow Outlook may get ready after the timer below said "outside": Outlook wins.
    running = true;
    $("outside").hidden = true;
    $("pane").hidden = false;
    $("create-deal").href = S.baseUrl() + "/deals";
    $("options").addEventListener("change", function (event) {
      if (event.target && event.target.name === "choice") {
        pick(event.target.value);
      }
    });
    $("privacy").addEventListener("change", function (event) {
      if (event.target && event.target.name === "privacy") {
        choosePrivacy(event.target.value);
      }
    });
    $("use-suggestion").addEventListener("click", function () {
      pick($("use-suggestion").getAttribute("data-choice"));
    });
    $("save-token").addEventListener("click", saveToken);
    $("add-now").addEventListener("click", addNow);
    var item = mailbox.item;
    var Office = window.Office;
    if (
      typeof item.addHandlerAsync === "function" &&
      Office.EventType &&
      Office.EventType.RecipientsChanged
    ) {
      // Recipients typed while the pane is open change the candidates.
      item.addHandlerAsync(Office.EventType.RecipientsChanged, function () {
        refresh();
      });
    }
    fromSmartAlert(item).then(function (add) {
      return add ? addNow() : refresh();
    });
    notLogged();
  }

  if (!window.Office || typeof window.Office.onReady !== "function") {
    outsideOutlook();
  } else {
    setTimeout(outsideOutlook, OUTSIDE_AFTER_MS);
    window.Office.onReady(start);
  }

  window.SmartBccPane = {
    refresh: refresh,
    pick: pick,
    choosePrivacy: choosePrivacy,
    notLogged: notLogged,
    busy: function () {
      return busy;
    },
  };
})();
