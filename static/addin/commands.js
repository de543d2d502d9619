/*
 * Smart Bcc for Outlook: the event handlers (new compose, recipients changed, send) and the
 * "Bcc to CRM" command. One file, no imports, no DOM: classic Outlook on Windows loads exactly this
 * file into its JavaScript-only runtime; commands.html (browser runtime: web, new Outlook, Mac, and
 * the runtime Outlook on iOS and Android is pointed at) and the task pane load the same file. The
 * server prepends SMARTBCC_BASE_URL and SMARTBCC_MS_CLIENT_ID when it serves it as
 * /addin/commands.js (relative URLs do not work in the JavaScript-only runtime).
 *
 * Insert at compose, verify at send: only the compose events and the button write the Bcc. The
 * send handler never adds, removes or replaces a recipient (Outlook on the web and new Outlook time
 * the add-in out when it does, OfficeDev/office-js#5132 and #4669; Outlook on Mac runs the send
 * handler twice, #4311): it sets the x-smartbcc-ref header, announces the mail, and when the Bcc
 * lacks the right address it answers with a Smart Alert in PromptUser mode. See
 * addin-manifest/README.md for the sources.
 */
(function (root) {
  "use strict";

  var HEADER = "x-smartbcc-ref";
  var NOTICE_KEY = "smartbcc";
  var CHOICE_KEY = "smartbcc.choice";
  var REF_KEY = "smartbcc.ref";
  // "private" | "shared": the rep's choice for the conversation the mail starts. It travels as the
  // Smart Bcc address's tag (not a header: OfficeDev/office-js#1401, #3393, #6791 report internet
  // headers silently dropped by classic Outlook on Windows), so resolve is told it and tags the address.
  var PRIVACY_KEY = "smartbcc.privacy";
  var TOKEN_SETTING = "smartbccApiToken";
  // The "Pick deal" button's Control id in both manifests: a Smart Alert's button opens it.
  var PANE_COMMAND_ID = "SmartBccPaneButton";
  var ALERT_LABEL = "Add Smart Bcc"; // Smart Alerts allow 20 characters
  var REQUEST_TIMEOUT_MS = 4000; // compose events may run for minutes; the rep is not waiting
  // Outlook asks "taking longer than expected" after 5 s on send: the send handler answers within
  // SEND_DEADLINE_MS whatever the network does, and gives the server at most SEND_RESOLVE_MS.
  var SEND_DEADLINE_MS = 3800;
  var SEND_RESOLVE_MS = 2500;
  var MAX_NOTICE = 150; // Outlook refuses longer notification texts
  var MAX_ALERT = 500; // and longer Smart Alert texts

  function office() {
    return root.Office;
  }

  function mailbox() {
    var o = office();
    return o && o.context && o.context.mailbox ? o.context.mailbox : null;
  }

  function mailItem() {
    var box = mailbox();
    return box ? box.item : null;
  }

  function noop() {}

  function now() {
    return new Date().getTime();
  }

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
      target[method].apply(
        target,
        (args || []).concat([
          function (result) {
            if (failed(result)) {
              reject(result.error || new Error(method + " failed"));
            } else {
              resolve(result ? result.value : undefined);
            }
          },
        ])
      );
    });
  }

  function unreachable(message) {
    var error = new Error(message || "timeout");
    error.unreachable = true;
    return error;
  }

  function withTimeout(promise, ms, onTimeout) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        (onTimeout || noop)();
        reject(unreachable("timeout"));
      }, ms);
      promise.then(
        function (value) {
          clearTimeout(timer);
          resolve(value);
        },
        function (error) {
          clearTimeout(timer);
          reject(error);
        }
      );
    });
  }

  // fetch that gives up after `ms`: aborted where AbortController exists, abandoned elsewhere.
  function post(path, token, body, ms) {
    var Controller = root.AbortController;
    var controller = typeof Controller === "function" ? new Controller() : null;
    var init = {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    };
    if (controller) {
      init.signal = controller.signal;
    }
    var request;
    try {
      request = Promise.resolve(root.fetch(baseUrl() + path, init));
    } catch (error) {
      request = Promise.reject(error);
    }
    return withTimeout(
      request.then(null, function (error) {
        throw unreachable((error && error.message) || "network error");
      }),
      ms,
      function () {
        if (controller) {
          controller.abort();
        }
      }
    );
  }

  function isSetSupported(name, version) {
    var o = office();
    var requirements = o && o.context && o.context.requirements;
    if (!requirements || typeof requirements.isSetSupported !== "function") {
      return false;
    }
    return !!requirements.isSetSupported(name, version);
  }

  function hostOf(url) {
    var match = /^[a-z]+:\/\/([^/]+)/i.exec(url);
    return match ? match[1] : "";
  }

  // ---- sign-in: a developer API token, else nested app authentication (NAA), else Office SSO,
  // ---- else (task pane only) a sign-in dialog. See docs/entra-app-registration.md.

  function storedApiToken() {
    var settings = mailbox() ? office().context.roamingSettings : null;
    var value = settings && typeof settings.get === "function" ? settings.get(TOKEN_SETTING) : "";
    if (value) {
      return String(value);
    }
    var storage = root.localStorage;
    return storage && typeof storage.getItem === "function"
      ? storage.getItem(TOKEN_SETTING) || ""
      : "";
  }

  function apiToken() {
    // localStorage throws where the browser blocks storage: no token then.
    return Promise.resolve()
      .then(storedApiToken)
      .then(null, function () {
        return "";
      });
  }

  function scope() {
    return "api://" + hostOf(baseUrl()) + "/" + root.SMARTBCC_MS_CLIENT_ID + "/access_as_user";
  }

  function signInError(message) {
    var error = new Error(message);
    error.signIn = true;
    return error;
  }

  // Outlook offers NAA and Office SSO only in Microsoft 365 mailboxes: not when an Outlook.com or
  // Gmail account is open in Outlook (Nested app auth requirement set; Mailbox 1.6 accountType).
  var UNSUPPORTED_ACCOUNTS = { outlookCom: "an Outlook.com", gmail: "a Gmail" };

  function unsupportedAccount() {
    var box = mailbox();
    var type = box && box.userProfile ? box.userProfile.accountType : "";
    return UNSUPPORTED_ACCOUNTS[type] || "";
  }

  var naaApp = null;

  function naaToken(interactive) {
    var msal = root.msal;
    if (
      !msal ||
      typeof msal.createNestablePublicClientApplication !== "function" ||
      !root.SMARTBCC_MS_CLIENT_ID ||
      !isSetSupported("NestedAppAuth", "1.1")
    ) {
      return Promise.reject(new Error("nested app authentication is not available"));
    }
    var request = { scopes: [scope()] };
    if (!naaApp) {
      naaApp = msal.createNestablePublicClientApplication({
        auth: {
          clientId: root.SMARTBCC_MS_CLIENT_ID,
          authority: "https://login.microsoftonline.com/common",
        },
      });
    }
    return naaApp
      .then(function (app) {
        return app.acquireTokenSilent(request).then(null, function (error) {
          // Event handlers may not show UI; only the task pane signs in interactively.
          if (!interactive) {
            throw error;
          }
          return app.acquireTokenPopup(request);
        });
      })
      .then(function (result) {
        return result.accessToken;
      });
  }

  function ssoToken(interactive) {
    var options = { allowSignInPrompt: !!interactive, allowConsentPrompt: !!interactive };
    var runtime = root.OfficeRuntime;
    // Event-based add-ins must use OfficeRuntime.auth; Office.auth only works in some builds.
    if (runtime && runtime.auth && typeof runtime.auth.getAccessToken === "function") {
      return runtime.auth.getAccessToken(options);
    }
    var o = office();
    if (o && o.auth && typeof o.auth.getAccessToken === "function") {
      return o.auth.getAccessToken(options);
    }
    return Promise.reject(new Error("Office single sign-on is not available"));
  }

  // The last resort, from the task pane only (dialogs are blocked in event handlers): signin.html
  // signs in with MSAL's redirect flow and hands the token back with messageParent.
  var dialogToken = "";

  function dialogSignIn() {
    var o = office();
    var ui = o && o.context && o.context.ui;
    if (!ui || typeof ui.displayDialogAsync !== "function" || !root.SMARTBCC_MS_CLIENT_ID) {
      return Promise.reject(new Error("no sign-in dialog in this Outlook"));
    }
    var url = baseUrl() + "/static/addin/signin.html";
    return call(ui, "displayDialogAsync", [
      url,
      { height: 60, width: 30, promptBeforeOpen: false },
    ]).then(function (dialog) {
      return new Promise(function (resolve, reject) {
        dialog.addEventHandler(o.EventType.DialogMessageReceived, function (arg) {
          dialog.close();
          var answer = {};
          try {
            answer = JSON.parse(arg.message);
          } catch (error) {
            answer = { error: "the sign-in window answered " + String(error && error.name) };
          }
          if (answer.token) {
            resolve(answer.token);
          } else {
            reject(new Error(answer.error || "sign-in failed"));
          }
        });
        dialog.addEventHandler(o.EventType.DialogEventReceived, function () {
          reject(new Error("the sign-in window was closed"));
        });
      });
    });
  }

  function getToken(interactive) {
    return apiToken().then(function (token) {
      if (token) {
        return token;
      }
      if (dialogToken) {
        return dialogToken;
      }
      var account = unsupportedAccount();
      if (account) {
        throw signInError(
          "Smart Bcc cannot sign you in here: Outlook offers add-ins sign-in only in Microsoft 365 " +
            "work or school mailboxes, and this is " +
            account +
            " mailbox. Use your work mailbox, or paste an API token under Developer sign-in."
        );
      }
      return naaToken(interactive)
        .then(null, function () {
          return ssoToken(interactive);
        })
        .then(null, function (error) {
          if (!interactive) {
            throw error;
          }
          return dialogSignIn().then(function (value) {
            dialogToken = value;
            return value;
          });
        })
        .then(null, function (error) {
          throw signInError(
            "Sign in to Smart Bcc: open the Smart Bcc pane (" +
              ((error && error.message) || error) +
              ")."
          );
        });
    });
  }

  // ---- the draft

  function recipients(field) {
    var item = mailItem();
    return call(item && item[field], "getAsync").then(function (list) {
      return list || [];
    });
  }

  function addressOf(entry) {
    return String(typeof entry === "string" ? entry : (entry && entry.emailAddress) || "");
  }

  function addressesOf(list) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
      var value = addressOf(list[i]);
      if (value) {
        out.push(value);
      }
    }
    return out;
  }

  function sessionGet(key) {
    var item = mailItem();
    if (!item || !item.sessionData) {
      return Promise.resolve(null);
    }
    return call(item.sessionData, "getAsync", [key]).then(
      function (value) {
        return value ? String(value) : null;
      },
      function () {
        return null; // nothing stored yet
      }
    );
  }

  function readChoice() {
    return sessionGet(CHOICE_KEY);
  }

  function writeChoice(choice) {
    var item = mailItem();
    if (!item || !item.sessionData) {
      return Promise.reject(
        new Error("This Outlook cannot remember a pick for the mail (Mailbox 1.11 needed).")
      );
    }
    if (!choice) {
      return call(item.sessionData, "removeAsync", [CHOICE_KEY]).then(null, noop);
    }
    return call(item.sessionData, "setAsync", [CHOICE_KEY, choice]);
  }

  function readPrivacy() {
    return sessionGet(PRIVACY_KEY).then(function (value) {
      return value === "private" || value === "shared" ? value : null;
    });
  }

  function writePrivacy(value) {
    var item = mailItem();
    if (value !== "private" && value !== "shared") {
      return Promise.reject(new Error("Choose private or shared."));
    }
    if (!item || !item.sessionData) {
      return Promise.reject(
        new Error("This Outlook cannot remember a choice for the mail (Mailbox 1.11 needed).")
      );
    }
    return call(item.sessionData, "setAsync", [PRIVACY_KEY, value]);
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
    return (parts[0] === "deal" || parts[0] === "lead") && id > 0
      ? { item_type: parts[0], item_id: id }
      : null;
  }

  function readDraft() {
    return Promise.all([
      recipients("to"),
      recipients("cc"),
      recipients("bcc"),
      readChoice(),
      readPrivacy(),
    ]).then(function (v) {
      return { to: v[0], cc: v[1], bcc: v[2], choice: v[3], privacy: v[4] };
    });
  }

  // ---- the server

  function resolve(draft, interactive, timeoutMs) {
    return getToken(interactive)
      .then(function (token) {
        var body = {
          to: addressesOf(draft.to),
          cc: addressesOf(draft.cc),
          bcc: addressesOf(draft.bcc),
          item: choiceToItem(draft.choice),
        };
        // Left out when the rep has not chosen: the server keeps the tag already in the Bcc.
        if (draft.privacy) {
          body.privacy = draft.privacy;
        }
        return post("/api/v1/addin/resolve", token, body, timeoutMs || REQUEST_TIMEOUT_MS);
      })
      .then(function (response) {
        return response
          .json()
          .then(null, function () {
            return null;
          })
          .then(function (body) {
            if (!response.ok || !body || body.success !== true) {
              var error = new Error(
                (body && body.error) || "Smart Bcc answered " + response.status + "."
              );
              error.status = response.status;
              if (response.status === 401) {
                dialogToken = "";
              }
              // A proxy's 5xx page means the same to the user as no answer at all.
              error.unreachable = response.status >= 500 || !body;
              throw error;
            }
            return body.data;
          });
      });
  }

  function lower(value) {
    return String(value || "").toLowerCase();
  }

  // The Bcc list the draft should have: our address once, older Smart Bcc addresses gone,
  // everything else the user put there kept in order. changed=false means leave Bcc alone.
  function planBcc(bcc, result) {
    var wanted = lower(result.address);
    var drop = {};
    (result.replace || []).forEach(function (a) {
      drop[lower(a)] = true;
    });
    var keep = [];
    var present = false;
    var removed = false;
    bcc.forEach(function (entry) {
      var address = lower(addressOf(entry));
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
      return typeof entry === "string"
        ? { emailAddress: entry, displayName: entry }
        : {
            emailAddress: entry.emailAddress,
            displayName: entry.displayName || entry.emailAddress,
          };
    });
    return { changed: !present || removed, present: present, bcc: list };
  }

  // Compose events and the button only: the one place that writes the Bcc.
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
    var type =
      enums && enums.ItemNotificationMessageType
        ? enums.ItemNotificationMessageType.InformationalMessage
        : "informationalMessage";
    var message = String(text);
    if (message.length > MAX_NOTICE) {
      message = message.slice(0, MAX_NOTICE - 1) + "\u2026";
    }
    return call(item.notificationMessages, "replaceAsync", [
      NOTICE_KEY,
      { type: type, message: message, icon: "Icon.16x16", persistent: false },
    ]).then(null, noop);
  }

  function clearNotice() {
    var item = mailItem();
    if (!item || !item.notificationMessages) {
      return Promise.resolve();
    }
    return call(item.notificationMessages, "removeAsync", [NOTICE_KEY]).then(null, noop);
  }

  function describe(error, sending) {
    if (error && error.unreachable) {
      return sending
        ? "Smart Bcc could not be reached: this mail was sent without being checked."
        : "Smart Bcc could not be reached, so no Smart Bcc address was added. Add it by hand to log this mail.";
    }
    return "Smart Bcc: " + ((error && error.message) || String(error));
  }

  // ---- sending: header, announcement, and a Smart Alert when the address is missing

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
    return (
      "sbc-" +
      bytes
        .map(function (b) {
          return (b < 16 ? "0" : "") + b.toString(16);
        })
        .join("")
    );
  }

  // One ref per draft: a second send attempt (after "Don't Send", or Outlook on Mac running the
  // handler twice) carries the same header, and the server keeps the first announcement.
  function draftRef() {
    return sessionGet(REF_KEY).then(function (stored) {
      if (stored) {
        return stored;
      }
      var ref = newRef();
      var item = mailItem();
      if (!item || !item.sessionData) {
        return ref;
      }
      return call(item.sessionData, "setAsync", [REF_KEY, ref]).then(
        function () {
          return ref;
        },
        function () {
          return ref;
        }
      );
    });
  }

  function setRefHeader() {
    return draftRef().then(function (ref) {
      var item = mailItem();
      var headers = {};
      headers[HEADER] = ref;
      return call(item && item.internetHeaders, "setAsync", [headers]).then(function () {
        return ref;
      });
    });
  }

  // Tells the server which mail is leaving, so it can fetch the sent copy from a connected
  // mailbox. Best effort: the SMTP copy is logged anyway, and the mail is never held for it.
  // The subject (when Outlook gives it in time) and the To/Cc addresses let the not-logged
  // list say which mail it means.
  function readSubject() {
    return new Promise(function (done) {
      var subject = Office.context.mailbox.item.subject;
      if (!subject || typeof subject.getAsync !== "function") {
        done(null);
        return;
      }
      subject.getAsync(function (result) {
        done(result && result.status === "succeeded" ? result.value : null);
      });
    });
  }

  function announceSent(ref, address, ms, draft) {
    if (!ref || !address || ms <= 0) {
      return Promise.resolve();
    }
    var recipients = draft ? addressesOf(draft.to).concat(addressesOf(draft.cc)) : [];
    return Promise.all([getToken(false), readSubject()])
      .then(function (v) {
        var body = { ref: ref, address: address, recipients: recipients.slice(0, 100) };
        if (v[1]) {
          body.subject = String(v[1]).slice(0, 998);
        }
        return post("/api/v1/addin/sent", v[0], body, ms);
      })
      .then(null, noop);
  }

  function alertFor(result, bcc) {
    var stale = (result.replace || []).some(function (old) {
      return bcc.some(function (entry) {
        return lower(addressOf(entry)) === lower(old);
      });
    });
    var custom = isSetSupported("Mailbox", "1.14");
    var what = stale
      ? "This mail will not be logged where Smart Bcc would put it: its Bcc has an older Smart Bcc address instead of " +
        result.address +
        " (" +
        result.reason +
        ")."
      : "This mail will not be logged to the CRM: its Bcc does not have the Smart Bcc address " +
        result.address +
        ".";
    var how = custom
      ? ' Choose "' + ALERT_LABEL + '" to go back and add it, or Send Anyway to send it as it is.'
      : ' Choose Don\'t Send, then "Bcc to CRM" to add it, or Send Anyway to send it as it is.';
    var options = { allowEvent: false, errorMessage: (what + how).slice(0, MAX_ALERT) };
    var enums = office().MailboxEnums;
    if (enums && enums.SendModeOverride) {
      // Mailbox 1.14: keep "Send Anyway" whatever the manifest says.
      options.sendModeOverride = enums.SendModeOverride.PromptUser;
    }
    if (custom) {
      options.cancelLabel = ALERT_LABEL;
      options.commandId = PANE_COMMAND_ID;
      options.contextData = JSON.stringify({ smartbcc: "add" });
    }
    return options;
  }

  function onMessageSendHandler(event) {
    var done = false;
    var started = now();
    var timer = null;
    function finish(options) {
      if (!done) {
        done = true;
        clearTimeout(timer);
        event.completed(options || { allowEvent: true });
      }
    }
    function left() {
      return SEND_DEADLINE_MS - 300 - (now() - started);
    }
    // A slow or unreachable server must never hold the mail: allow it at the deadline.
    timer = setTimeout(finish, SEND_DEADLINE_MS);
    var ref = null;
    // The header first: it needs no server, and the later mailbox fetch finds the mail by it.
    setRefHeader()
      .then(function (value) {
        ref = value;
      }, noop)
      .then(readDraft)
      .then(function (draft) {
        return resolve(draft, false, Math.min(SEND_RESOLVE_MS, left())).then(function (result) {
          if (planBcc(draft.bcc, result).present) {
            return announceSent(ref, result.address, left(), draft).then(function () {
              return { allowEvent: true };
            });
          }
          // Without Smart Alerts (Mailbox 1.12) there is nobody to ask: the mail goes.
          return isSetSupported("Mailbox", "1.12")
            ? alertFor(result, draft.bcc)
            : { allowEvent: true };
        });
      })
      .then(finish, function () {
        finish({ allowEvent: true });
      });
  }

  // ---- the compose handlers and the button

  // An event handler must always call completed(), whatever happened before.
  function completeAfter(promise, event) {
    return promise.then(
      function () {
        event.completed();
      },
      function () {
        event.completed();
      }
    );
  }

  function onComposeChange(event) {
    completeAfter(
      ensureBcc(false).then(clearNotice, function (error) {
        return notify(describe(error, false));
      }),
      event
    );
  }

  function onNewMessageComposeHandler(event) {
    // A draft started from a mailto: link may have no recipients yet; they come with the
    // OnMessageRecipientsChanged event that follows, which resolves again.
    onComposeChange(event);
  }

  function onMessageRecipientsChangedHandler(event) {
    onComposeChange(event);
  }

  function insertSmartBcc(event) {
    completeAfter(
      ensureBcc(false).then(
        function (outcome) {
          return notify(
            outcome.changed
              ? "Smart Bcc: " + outcome.result.reason
              : "Smart Bcc: the Bcc already has the right address."
          );
        },
        function (error) {
          return notify(describe(error, false));
        }
      ),
      event
    );
  }

  root.SmartBcc = {
    HEADER: HEADER,
    CHOICE_KEY: CHOICE_KEY,
    PRIVACY_KEY: PRIVACY_KEY,
    TOKEN_SETTING: TOKEN_SETTING,
    PANE_COMMAND_ID: PANE_COMMAND_ID,
    baseUrl: baseUrl,
    getToken: getToken,
    readDraft: readDraft,
    readChoice: readChoice,
    writeChoice: writeChoice,
    readPrivacy: readPrivacy,
    writePrivacy: writePrivacy,
    resolve: resolve,
    planBcc: planBcc,
    ensureBcc: ensureBcc,
    describe: describe,
    handlers: {
      onNewMessageComposeHandler: onNewMessageComposeHandler,
      onMessageRecipientsChangedHandler: onMessageRecipientsChangedHandler,
      onMessageSendHandler: onMessageSendHandler,
      insertSmartBcc: insertSmartBcc,
    },
  };

  var o = office();
  if (o && o.actions && typeof o.actions.associate === "function") {
    o.actions.associate("onNewMessageComposeHandler", onNewMessageComposeHandler);
    o.actions.associate("onMessageRecipientsChangedHandler", onMessageRecipientsChangedHandler);
    o.actions.associate("onMessageSendHandler", onMessageSendHandler);
    o.actions.associate("insertSmartBcc", insertSmartBcc);
  }
})(typeof globalThis !== "undefined" ? globalThis : this);
