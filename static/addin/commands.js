/*
 * Smart Bcc for Outlook: the event handlers (new compose, recipients changed, send) and the
 * "Bcc to CRM" command. One file, no imports, no DOM: classic Outlook on Windows loads exactly
 * this file into its JavaScript-only runtime; commands.html (browser runtime) and the task pane
 * load the same file. The server prepends SMARTBCC_BASE_URL and SMARTBCC_MS_CLIENT_ID when it
 * serves it as /addin/commands.js (relative URLs do not work in the JavaScript-only runtime).
 */
(function (root) {
  "use strict";

  var HEADER = "x-smartbcc-ref";
  var NOTICE_KEY = "smartbcc";
  var CHOICE_KEY = "smartbcc.choice";
  var TOKEN_SETTING = "smartbccApiToken";
  // Outlook shows "taking longer than expected" after 5 s on send; answer well before.
  var REQUEST_TIMEOUT_MS = 4000;
  var SEND_DEADLINE_MS = 4500;
  var MAX_NOTICE = 150; // Outlook refuses longer notification texts

  function office() {
    return root.Office;
  }

  function mailItem() {
    var o = office();
    return o && o.context && o.context.mailbox ? o.context.mailbox.item : null;
  }

  function noop() {}

  function baseUrl() {
    var base = root.SMARTBCC_BASE_URL || (root.location && root.location.origin) || "";
    return String(base).replace(/\/+$/, "");
  }

  function failed(result) {
    var statuses = office() && office().AsyncResultStatus;
    var failedValue = statuses && statuses.Failed ? statuses.Failed : "failed";
    return !!result && result.status === failedValue;
  }

  // Office's callback APIs as promises: resolves with asyncResult.value.
  function call(target, method, args) {
    return new Promise(function (resolve, reject) {
      if (!target || typeof target[method] !== "function") {
        reject(new Error(method + " is not available in this Outlook"));
        return;
      }
      target[method].apply(target, (args || []).concat([function (result) {
        if (failed(result)) {
          reject(result.error || new Error(method + " failed"));
        } else {
          resolve(result ? result.value : undefined);
        }
      }]));
    });
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        var error = new Error("timeout");
        error.unreachable = true;
        reject(error);
      }, ms);
      promise.then(function (value) {
        clearTimeout(timer);
        resolve(value);
      }, function (error) {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  function isSetSupported(name, version) {
    try {
      return !!office().context.requirements.isSetSupported(name, version);
    } catch (e) {
      return false;
    }
  }

  function hostOf(url) {
    var match = /^[a-z]+:\/\/([^/]+)/i.exec(url);
    return match ? match[1] : "";
  }

  // ---- sign-in: a developer API token, else nested app authentication, else Office SSO

  function apiToken() {
    try {
      var settings = office().context.roamingSettings;
      var value = settings && settings.get(TOKEN_SETTING);
      if (value) {
        return String(value);
      }
    } catch (e) { /* no roaming settings in this host */ }
    try {
      return (root.localStorage && root.localStorage.getItem(TOKEN_SETTING)) || "";
    } catch (e2) {
      return "";
    }
  }

  var naaApp = null;

  function naaToken(interactive) {
    var msal = root.msal;
    var clientId = root.SMARTBCC_MS_CLIENT_ID;
    if (!msal || typeof msal.createNestablePublicClientApplication !== "function" || !clientId ||
        !isSetSupported("NestedAppAuth", "1.1")) {
      return Promise.reject(new Error("nested app authentication is not available"));
    }
    var request = { scopes: ["api://" + hostOf(baseUrl()) + "/" + clientId + "/access_as_user"] };
    if (!naaApp) {
      naaApp = msal.createNestablePublicClientApplication({
        auth: { clientId: clientId, authority: "https://login.microsoftonline.com/common" }
      });
    }
    return naaApp.then(function (app) {
      return app.acquireTokenSilent(request).catch(function (error) {
        // Event handlers may not show UI; only the task pane signs in interactively.
        if (!interactive) {
          throw error;
        }
        return app.acquireTokenPopup(request);
      });
    }).then(function (result) {
      return result.accessToken;
    });
  }

  function ssoToken(interactive) {
    var options = { allowSignInPrompt: !!interactive, allowConsentPrompt: !!interactive };
    var runtime = root.OfficeRuntime;
    if (runtime && runtime.auth && typeof runtime.auth.getAccessToken === "function") {
      return runtime.auth.getAccessToken(options);
    }
    var o = office();
    if (o && o.auth && typeof o.auth.getAccessToken === "function") {
      return o.auth.getAccessToken(options);
    }
    return Promise.reject(new Error("Sign in to Smart Bcc: open the Smart Bcc pane."));
  }

  function getToken(interactive) {
    var token = apiToken();
    if (token) {
      return Promise.resolve(token);
    }
    return naaToken(interactive).catch(function () {
      return ssoToken(interactive);
    }).catch(function (error) {
      var signIn = new Error("Sign in to Smart Bcc: open the Smart Bcc pane (" + (error && error.message || error) + ").");
      signIn.signIn = true;
      throw signIn;
    });
  }

  // ---- the draft

  function recipients(field) {
    var item = mailItem();
    return call(item && item[field], "getAsync").then(function (list) {
      return list || [];
    });
  }

  function addressesOf(list) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
      var value = typeof list[i] === "string" ? list[i] : list[i] && list[i].emailAddress;
      if (value) {
        out.push(String(value));
      }
    }
    return out;
  }

  function readChoice() {
    var item = mailItem();
    if (!item || !item.sessionData) {
      return Promise.resolve(null);
    }
    return call(item.sessionData, "getAsync", [CHOICE_KEY]).then(function (value) {
      return value ? String(value) : null;
    }, function () {
      return null; // nothing picked yet
    });
  }

  function writeChoice(choice) {
    var item = mailItem();
    if (!item || !item.sessionData) {
      return Promise.reject(new Error("This Outlook cannot remember a pick for the mail (Mailbox 1.11 needed)."));
    }
    if (!choice) {
      return call(item.sessionData, "removeAsync", [CHOICE_KEY]).catch(noop);
    }
    return call(item.sessionData, "setAsync", [CHOICE_KEY, choice]);
  }

  // "deal:12" | "lead:5" | "none" | null (automatic) -> the resolve request's item
  function choiceToItem(choice) {
    if (!choice) {
      return null;
    }
    if (choice === "none") {
      return "none";
    }
    var parts = String(choice).split(":");
    var id = parseInt(parts[1], 10);
    return (parts[0] === "deal" || parts[0] === "lead") && id > 0 ? { item_type: parts[0], item_id: id } : null;
  }

  function readDraft() {
    return Promise.all([recipients("to"), recipients("cc"), recipients("bcc"), readChoice()]).then(function (v) {
      return { to: v[0], cc: v[1], bcc: v[2], choice: v[3] };
    });
  }

  // ---- the server

  function resolve(draft, interactive) {
    return getToken(interactive).then(function (token) {
      var request = root.fetch(baseUrl() + "/api/v1/addin/resolve", {
        method: "POST",
        headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
        body: JSON.stringify({
          to: addressesOf(draft.to), cc: addressesOf(draft.cc), bcc: addressesOf(draft.bcc),
          item: choiceToItem(draft.choice)
        })
      });
      return withTimeout(request.then(null, function (error) {
        var unreachable = new Error(error && error.message || "network error");
        unreachable.unreachable = true;
        throw unreachable;
      }), REQUEST_TIMEOUT_MS);
    }).then(function (response) {
      return response.json().then(null, function () {
        return null;
      }).then(function (body) {
        if (!response.ok || !body || body.success !== true) {
          var error = new Error(body && body.error || ("Smart Bcc answered " + response.status + "."));
          error.status = response.status;
          // A proxy's 5xx page means the same to the user as no answer at all.
          error.unreachable = response.status >= 500 || !body;
          throw error;
        }
        return body.data;
      });
    });
  }

  // The Bcc list the draft should have: our address once, older Smart Bcc addresses gone,
  // everything else the user put there kept in order. changed=false means leave Bcc alone.
  function planBcc(bcc, result) {
    var wanted = String(result.address).toLowerCase();
    var drop = {};
    (result.replace || []).forEach(function (a) {
      drop[String(a).toLowerCase()] = true;
    });
    var keep = [];
    var present = false;
    var removed = false;
    bcc.forEach(function (entry) {
      var address = String(typeof entry === "string" ? entry : entry && entry.emailAddress || "").toLowerCase();
      if (address === wanted) {
        if (present) {
          removed = true;
          return;
        }
        present = true;
        keep.push(entry);
      } else if (drop[address]) {
        removed = true;
      } else {
        keep.push(entry);
      }
    });
    if (!present) {
      keep.push({ emailAddress: result.address, displayName: "Smart Bcc" });
    }
    var list = keep.map(function (entry) {
      return typeof entry === "string" ? { emailAddress: entry, displayName: entry } : {
        emailAddress: entry.emailAddress, displayName: entry.displayName || entry.emailAddress
      };
    });
    return { changed: !present || removed, bcc: list };
  }

  function ensureBcc(interactive) {
    return readDraft().then(function (draft) {
      return resolve(draft, interactive).then(function (result) {
        var plan = planBcc(draft.bcc, result);
        if (!plan.changed) {
          // Our own setAsync fires OnMessageRecipientsChanged again: nothing to do then.
          return { result: result, changed: false };
        }
        return call(mailItem().bcc, "setAsync", [plan.bcc]).then(function () {
          return { result: result, changed: true };
        });
      });
    });
  }

  // ---- what the user sees

  function notify(text) {
    var item = mailItem();
    if (!item || !item.notificationMessages) {
      return Promise.resolve();
    }
    var enums = office().MailboxEnums;
    var type = enums && enums.ItemNotificationMessageType ?
      enums.ItemNotificationMessageType.InformationalMessage : "informationalMessage";
    var message = String(text);
    if (message.length > MAX_NOTICE) {
      message = message.slice(0, MAX_NOTICE - 1) + "\u2026";
    }
    return call(item.notificationMessages, "replaceAsync", [NOTICE_KEY, {
      type: type, message: message, icon: "Icon.16x16", persistent: false
    }]).catch(noop);
  }

  function clearNotice() {
    var item = mailItem();
    if (!item || !item.notificationMessages) {
      return Promise.resolve();
    }
    return call(item.notificationMessages, "removeAsync", [NOTICE_KEY]).catch(noop);
  }

  function describe(error, sending) {
    if (error && error.unreachable) {
      return sending ? "Smart Bcc could not be reached: this mail was sent without being logged to the CRM."
        : "Smart Bcc could not be reached, so no Smart Bcc address was added. Add it by hand to log this mail.";
    }
    return "Smart Bcc: " + (error && error.message || String(error));
  }

  function newRef() {
    var bytes = [];
    var crypto = root.crypto;
    if (crypto && typeof crypto.getRandomValues === "function") {
      bytes = Array.prototype.slice.call(crypto.getRandomValues(new Uint8Array(12)));
    } else {
      for (var i = 0; i < 12; i++) {
        bytes.push(Math.floor(Math.random() * 256));
      }
    }
    return "sbc-" + bytes.map(function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function setRefHeader() {
    var item = mailItem();
    var headers = {};
    var ref = newRef();
    headers[HEADER] = ref;
    return call(item && item.internetHeaders, "setAsync", [headers]).then(function () {
      return ref;
    });
  }

  // Tells the server which mail is leaving, so it can fetch the sent copy from a connected
  // mailbox. Best effort: the SMTP copy is logged anyway, and the mail is never held for it.
  function announceSent(ref, address) {
    if (!ref || !address) {
      return Promise.resolve();
    }
    return getToken(false).then(function (token) {
      return withTimeout(root.fetch(baseUrl() + "/api/v1/addin/sent", {
        method: "POST",
        headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
        body: JSON.stringify({ ref: ref, address: address })
      }), REQUEST_TIMEOUT_MS);
    }).then(null, noop);
  }

  // ---- the handlers Outlook calls

  function onComposeChange(event) {
    ensureBcc(false).then(clearNotice, function (error) {
      return notify(describe(error, false));
    }).then(function () {
      event.completed();
    }, function () {
      event.completed();
    });
  }

  function onNewMessageComposeHandler(event) {
    onComposeChange(event);
  }

  function onMessageRecipientsChangedHandler(event) {
    onComposeChange(event);
  }

  function onMessageSendHandler(event) {
    var done = false;
    var timer = null;
    function finish() {
      if (!done) {
        done = true;
        clearTimeout(timer);
        // Smart Bcc never stops a mail: logging is a convenience, sending is the user's business.
        event.completed({ allowEvent: true });
      }
    }
    timer = setTimeout(finish, SEND_DEADLINE_MS);
    // The header first: it needs no server, and the later mailbox fetch finds the mail by it.
    var ref = null;
    setRefHeader().then(function (value) {
      ref = value;
    }, noop).then(function () {
      return ensureBcc(false);
    }).then(function (outcome) {
      return announceSent(ref, outcome && outcome.result && outcome.result.address);
    }, function (error) {
      return notify(describe(error, true));
    }).then(finish, finish);
  }

  function insertSmartBcc(event) {
    ensureBcc(false).then(function (outcome) {
      return notify(outcome.changed ? "Smart Bcc: " + outcome.result.reason
        : "Smart Bcc: the Bcc already has the right address.");
    }, function (error) {
      return notify(describe(error, false));
    }).then(function () {
      event.completed();
    }, function () {
      event.completed();
    });
  }

  root.SmartBcc = {
    HEADER: HEADER,
    CHOICE_KEY: CHOICE_KEY,
    TOKEN_SETTING: TOKEN_SETTING,
    baseUrl: baseUrl,
    getToken: getToken,
    readDraft: readDraft,
    readChoice: readChoice,
    writeChoice: writeChoice,
    resolve: resolve,
    planBcc: planBcc,
    ensureBcc: ensureBcc,
    describe: describe,
    handlers: {
      onNewMessageComposeHandler: onNewMessageComposeHandler,
      onMessageRecipientsChangedHandler: onMessageRecipientsChangedHandler,
      onMessageSendHandler: onMessageSendHandler,
      insertSmartBcc: insertSmartBcc
    }
  };

  var o = office();
  if (o && o.actions && typeof o.actions.associate === "function") {
    o.actions.associate("onNewMessageComposeHandler", onNewMessageComposeHandler);
    o.actions.associate("onMessageRecipientsChangedHandler", onMessageRecipientsChangedHandler);
    o.actions.associate("onMessageSendHandler", onMessageSendHandler);
    o.actions.associate("insertSmartBcc", insertSmartBcc);
  }
}(typeof globalThis !== "undefined" ? globalThis : this));
