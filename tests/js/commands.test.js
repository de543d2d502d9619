// The Outlook event handlers (static/addin/commands.js) for every path: new compose, mailto:
// compose, recipients changed, the button, and send with the address present / missing /
// backend down / slow backend, and the mobile runtime without Smart Alerts. The send handler
// must never call a recipient API (fireSend fails the test if it does).
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const {
  ROOT, SOURCE, BASE, COMPANY, DEAL, OLD_DEAL, plain, makeOffice, server, serverFor, resolved, load, fire,
  fireSend, bccAddresses,
} = require("./outlook-mock");

test("the file has no imports, no modules and no DOM, and associates every handler", () => {
  assert.doesNotMatch(SOURCE, /^\s*import\s|\brequire\(|\bexport\s|\bdocument\.|\bwindow\./m);
  const { office, handlers } = makeOffice();
  load(office, server(() => resolved(COMPANY)).fetch);
  assert.deepEqual(Object.keys(handlers).sort(), [
    "insertSmartBcc", "onMessageRecipientsChangedHandler", "onMessageSendHandler", "onNewMessageComposeHandler"]);
});

// ---- compose: the only place the Bcc is written

test("new compose inserts the resolved address into Bcc and asks the server with the draft's recipients", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], cc: ["sam@customer.example"] });
  const api = server(() => resolved(DEAL));
  load(office, api.fetch);
  const completed = await fire(handlers.onNewMessageComposeHandler);
  assert.equal(completed, null);
  assert.deepEqual(bccAddresses(state), [DEAL]);
  assert.deepEqual(state.writes, ["bcc.setAsync"]);
  assert.equal(api.calls.length, 1);
  const [call] = api.calls;
  assert.equal(call.url, `${BASE}/api/v1/addin/resolve`);
  assert.equal(call.init.method, "POST");
  assert.equal(call.init.headers.Authorization, "Bearer sbc_dev_token");
  assert.deepEqual(call.body, { to: ["pat@customer.example"], cc: ["sam@customer.example"], bcc: [], item: null });
});

test("mailto: compose: the recipients arrive only with the second event, which puts the deal's address", async () => {
  // Classic Outlook may hand OnNewMessageCompose an empty To for a mailto: link (the addresses are
  // still being resolved); the OnMessageRecipientsChanged event that follows carries them.
  const { office, handlers, state } = makeOffice({ to: [] });
  const api = server((body) => (body.to.length ? resolved(DEAL, body.bcc.filter((a) => a === COMPANY))
    : resolved(COMPANY)));
  load(office, api.fetch);
  await fire(handlers.onNewMessageComposeHandler);
  assert.deepEqual(bccAddresses(state), [COMPANY]);
  state.to = [{ emailAddress: "pat@customer.example", displayName: "Pat" }];
  await fire(handlers.onMessageRecipientsChangedHandler, { changedRecipientFields: { to: true } });
  assert.deepEqual(bccAddresses(state), [DEAL]);
  assert.deepEqual(api.calls[1].body, { to: ["pat@customer.example"], cc: [], bcc: [COMPANY], item: null });
  // The rep sends: the address is there, no alert.
  const completed = await fireSend(handlers, state);
  assert.deepEqual(completed, { allowEvent: true });
});

test("recipients changed: a previous Smart Bcc address is replaced, not added to", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: [OLD_DEAL] });
  load(office, server(() => resolved(DEAL, [OLD_DEAL])).fetch);
  await fire(handlers.onMessageRecipientsChangedHandler, { changedRecipientFields: { to: true } });
  assert.deepEqual(bccAddresses(state), [DEAL]);
});

test("the user's own Bcc recipients are kept, in order, with their names", async () => {
  const boss = { emailAddress: "boss@acme.example", displayName: "The Boss" };
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: [boss, OLD_DEAL] });
  load(office, server(() => resolved(DEAL, [OLD_DEAL])).fetch);
  await fire(handlers.onMessageRecipientsChangedHandler);
  assert.deepEqual(state.bcc, [boss, { emailAddress: DEAL, displayName: "Smart Bcc" }]);
});

test("idempotent: the recipients-changed event caused by our own change leaves Bcc alone", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  const api = server(() => resolved(DEAL));
  load(office, api.fetch);
  await fire(handlers.onNewMessageComposeHandler);
  assert.equal(state.setCalls, 1);
  // Outlook fires OnMessageRecipientsChanged for our own Bcc change.
  await fire(handlers.onMessageRecipientsChangedHandler, { changedRecipientFields: { bcc: true } });
  await fire(handlers.onMessageRecipientsChangedHandler, { changedRecipientFields: { bcc: true } });
  assert.equal(state.setCalls, 1);
  assert.deepEqual(bccAddresses(state), [DEAL]);
  assert.deepEqual(api.calls[1].body.bcc, [DEAL]);
});

test("an address already there in other letter case counts as right", async () => {
  const { office, handlers, state } = makeOffice({ bcc: [DEAL.toUpperCase()] });
  load(office, server(() => resolved(DEAL)).fetch);
  await fire(handlers.onMessageRecipientsChangedHandler);
  assert.equal(state.setCalls, 0);
});

test("the deal picked in the task pane (session data) is sent to the server", async () => {
  const picked = makeOffice({ to: ["pat@customer.example"], session: { "smartbcc.choice": "deal:7" } });
  const api = server(() => resolved(DEAL));
  load(picked.office, api.fetch);
  await fire(picked.handlers.onMessageRecipientsChangedHandler);
  assert.deepEqual(api.calls[0].body.item, { item_type: "deal", item_id: 7 });

  const none = makeOffice({ session: { "smartbcc.choice": "none" } });
  const api2 = server(() => resolved(COMPANY));
  load(none.office, api2.fetch);
  await fire(none.handlers.onMessageRecipientsChangedHandler);
  assert.equal(api2.calls[0].body.item, "none");
});

test("compose with the backend down says so in the notification bar and still completes", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  load(office, async () => { throw new TypeError("Failed to fetch"); });
  const completed = await fire(handlers.onNewMessageComposeHandler);
  assert.equal(completed, null);
  assert.match(state.notices.smartbcc.message, /could not be reached/);
  assert.ok(state.notices.smartbcc.message.length <= 150);
  assert.deepEqual(state.writes, []);
});

test("a 401 from the server is shown in the notification bar with the server's words", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  load(office, server(() => [401, { success: false, error: "The Microsoft token has expired; sign in again.", errors: {} }]).fetch);
  const completed = await fire(handlers.onNewMessageComposeHandler);
  assert.equal(completed, null);
  assert.equal(state.notices.smartbcc.message, "Smart Bcc: The Microsoft token has expired; sign in again.");
  assert.equal(state.setCalls, 0);
});

test("the Bcc to CRM button inserts the address and says why", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  load(office, server(() => resolved(DEAL)).fetch);
  await fire(handlers.insertSmartBcc);
  assert.deepEqual(bccAddresses(state), [DEAL]);
  assert.equal(state.notices.smartbcc.message, "Smart Bcc: test reason");
});

// ---- send: verify, never write

test("the announcement carries the subject and the To/Cc addresses for the not-logged list", async () => {
  const { office, handlers, state } = makeOffice({
    to: ["pat@customer.example"], cc: ["lee@customer.example"], bcc: [DEAL], subject: "Offer 42",
  });
  const api = serverFor(DEAL);
  load(office, api.fetch);
  assert.deepEqual(await fireSend(handlers, state), { allowEvent: true });
  const announce = api.calls.find((c) => c.url === `${BASE}/api/v1/addin/sent`);
  assert.deepEqual(announce.body, {
    ref: state.headers["x-smartbcc-ref"], address: DEAL, subject: "Offer 42",
    recipients: ["pat@customer.example", "lee@customer.example"],
  });
  assert.deepEqual(state.writes, []);
});

test("send with the address present: header set, mail announced, allowed, no recipient API", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: ["boss@acme.example", DEAL] });
  const api = serverFor(DEAL);
  load(office, api.fetch);
  const completed = await fireSend(handlers, state);
  assert.deepEqual(completed, { allowEvent: true });
  assert.match(state.headers["x-smartbcc-ref"], /^sbc-[0-9a-f]{24}$/);
  const announce = api.calls.find((c) => c.url === `${BASE}/api/v1/addin/sent`);
  assert.ok(announce, "no announcement was sent");
  assert.deepEqual(announce.body, {
    ref: state.headers["x-smartbcc-ref"], address: DEAL, recipients: ["pat@customer.example"],
  });
  assert.equal(announce.init.headers.Authorization, "Bearer sbc_dev_token");
  assert.deepEqual(bccAddresses(state), ["boss@acme.example", DEAL]);
  assert.deepEqual(state.writes, []);
  assert.deepEqual(state.notices, {});
});

test("send with the address missing: a PromptUser Smart Alert whose button opens the pane", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: ["boss@acme.example"] });
  const api = serverFor(DEAL);
  load(office, api.fetch);
  const completed = await fireSend(handlers, state);
  assert.equal(completed.allowEvent, false);
  assert.match(completed.errorMessage, /will not be logged/);
  assert.match(completed.errorMessage, new RegExp(DEAL.replace(/[+.]/g, "\\$&")));
  assert.match(completed.errorMessage, /go back and add it/);
  assert.match(completed.errorMessage, /Send Anyway/);
  assert.ok(completed.errorMessage.length <= 500);
  assert.equal(completed.sendModeOverride, "promptUser");
  assert.equal(completed.cancelLabel, "Add Smart Bcc");
  assert.ok(completed.cancelLabel.length <= 20);
  assert.equal(completed.commandId, "SmartBccPaneButton");
  assert.deepEqual(JSON.parse(completed.contextData), { smartbcc: "add" });
  assert.deepEqual(bccAddresses(state), ["boss@acme.example"]); // untouched: the rep decides
  assert.deepEqual(state.writes, []);
  assert.ok(!api.calls.some((c) => c.url.endsWith("/addin/sent")), "a mail that is not sent was announced");
});

test("the Smart Alert's commandId is the task pane button of both manifests", () => {
  const xml = fs.readFileSync(path.join(ROOT, "addin-manifest", "outlook", "manifest.xml"), "utf8");
  assert.match(xml, /<Control xsi:type="Button" id="SmartBccPaneButton">[\s\S]*?<Action xsi:type="ShowTaskpane">/);
  const json = JSON.parse(fs.readFileSync(path.join(ROOT, "addin-manifest", "outlook", "manifest.json"), "utf8"));
  const controls = json.extensions[0].ribbons.flatMap((r) => r.tabs).flatMap((t) => t.groups).flatMap((g) => g.controls);
  const pane = controls.find((c) => c.id === "SmartBccPaneButton");
  const action = json.extensions[0].runtimes.flatMap((r) => r.actions).find((a) => a.id === pane.actionId);
  assert.equal(action.type, "openPage");
});

test("send with an older Smart Bcc address instead of the right one: the alert says so", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: [OLD_DEAL] });
  load(office, serverFor(DEAL, [OLD_DEAL]).fetch);
  const completed = await fireSend(handlers, state);
  assert.equal(completed.allowEvent, false);
  assert.match(completed.errorMessage, /older Smart Bcc address/);
  assert.deepEqual(bccAddresses(state), [OLD_DEAL]);
});

test("send with the address missing on Mailbox 1.12: the alert without the 1.14 options", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], client: "classic112" });
  load(office, serverFor(DEAL).fetch);
  const completed = await fireSend(handlers, state);
  assert.equal(completed.allowEvent, false);
  assert.match(completed.errorMessage, /Bcc to CRM/);
  for (const option of ["cancelLabel", "commandId", "contextData", "sendModeOverride"]) {
    assert.ok(!(option in completed), `${option} needs Mailbox 1.14`);
  }
});

test("send with the backend down: allowed at once, header still set", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: ["boss@acme.example"] });
  load(office, async () => { throw new TypeError("Failed to fetch"); });
  const completed = await fireSend(handlers, state);
  assert.deepEqual(completed, { allowEvent: true });
  assert.match(state.headers["x-smartbcc-ref"], /^sbc-/);
  assert.deepEqual(bccAddresses(state), ["boss@acme.example"]);
});

test("send with a backend answering 503: allowed", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  load(office, server(() => [503, null]).fetch);
  assert.deepEqual(await fireSend(handlers, state), { allowEvent: true });
});

test("send with a backend that never answers: allowed within 4 s, the request aborted", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  const signals = [];
  load(office, (url, init) => { signals.push(init.signal); return new Promise(() => {}); });
  const completed = await fireSend(handlers, state);
  assert.deepEqual(completed, { allowEvent: true });
  assert.equal(signals.length, 1);
  assert.equal(signals[0].aborted, true);
});

test("send with a slow announcement: allowed within 4 s", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: [DEAL] });
  load(office, async (url, init) => {
    if (url.endsWith("/addin/sent")) {
      return new Promise(() => {});
    }
    return { ok: true, status: 200, json: async () => resolved(DEAL)[1], init };
  });
  assert.deepEqual(await fireSend(handlers, state), { allowEvent: true });
});

test("a failing announcement does not hold the mail or alarm the user", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: [DEAL] });
  load(office, server((body) => ("ref" in body ? [503, { success: false, error: "down" }] : resolved(DEAL))).fetch);
  assert.deepEqual(await fireSend(handlers, state), { allowEvent: true });
  assert.deepEqual(state.notices, {});
});

test("a second send of the same draft carries the same ref (Outlook on Mac may run the handler twice)", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: [DEAL] });
  const api = serverFor(DEAL);
  load(office, api.fetch);
  await fireSend(handlers, state);
  const first = state.headers["x-smartbcc-ref"];
  await fireSend(handlers, state);
  assert.equal(state.headers["x-smartbcc-ref"], first);
  const refs = api.calls.filter((c) => c.url.endsWith("/addin/sent")).map((c) => c.body.ref);
  assert.deepEqual(refs, [first, first]);
});

// ---- Outlook on iOS and Android: compose events only, no Smart Alerts

test("mobile runtime: compose events insert the address; a send event, if any, never alerts or writes", async () => {
  const { office, handlers, state } = makeOffice({ to: [], client: "mobile" });
  const api = server((body) => ("ref" in body ? [201, { success: true, data: {} }]
    : body.to.length ? resolved(DEAL, body.bcc.filter((a) => a === COMPANY)) : resolved(COMPANY)));
  load(office, api.fetch);
  await fire(handlers.onNewMessageComposeHandler);
  assert.deepEqual(bccAddresses(state), [COMPANY]);
  state.to = [{ emailAddress: "pat@customer.example", displayName: "Pat" }];
  await fire(handlers.onMessageRecipientsChangedHandler);
  assert.deepEqual(bccAddresses(state), [DEAL]);
  // The rep removes the address by hand; without Smart Alerts there is nobody to ask.
  state.bcc = [];
  const completed = await fireSend(handlers, state);
  assert.deepEqual(completed, { allowEvent: true });
  assert.deepEqual(bccAddresses(state), []);
});

// ---- sign-in: API token, NAA, Office SSO, dialog; unsupported accounts

function fakeMsal(outcome, calls) {
  return {
    createNestablePublicClientApplication(config) {
      calls.push(["create", plain(config)]);
      return Promise.resolve({
        acquireTokenSilent(request) {
          calls.push(["silent", plain(request)]);
          return outcome === "ok" ? Promise.resolve({ accessToken: "naa-token" }) : Promise.reject(new Error("interaction_required"));
        },
        acquireTokenPopup(request) {
          calls.push(["popup", plain(request)]);
          return Promise.reject(new Error("popup blocked"));
        },
      });
    },
  };
}

function fakeSso(outcome, calls) {
  return { auth: { getAccessToken(options) {
    calls.push(["sso", plain(options)]);
    return outcome === "ok" ? Promise.resolve("sso-token") : Promise.reject(new Error("13003"));
  } } };
}

const CLIENT_ID = "6f1f3c52-1a8e-4c3e-9d7a-3b2f1e0c9a11";

test("nested app authentication comes first, for our API's access_as_user scope", async () => {
  const calls = [];
  const { office, handlers } = makeOffice({ apiToken: "", naa: true, to: ["pat@customer.example"] });
  const api = server(() => resolved(DEAL));
  load(office, api.fetch, { msal: fakeMsal("ok", calls), OfficeRuntime: fakeSso("ok", calls), SMARTBCC_MS_CLIENT_ID: CLIENT_ID });
  await fire(handlers.onNewMessageComposeHandler);
  assert.equal(api.calls[0].init.headers.Authorization, "Bearer naa-token");
  assert.deepEqual(calls.map((c) => c[0]), ["create", "silent"]);
  assert.deepEqual(calls[1][1].scopes, [`api://crm.example/${CLIENT_ID}/access_as_user`]);
  assert.equal(calls[0][1].auth.clientId, CLIENT_ID);
});

test("without NAA, Office SSO (OfficeRuntime.auth) without prompts in an event handler", async () => {
  const calls = [];
  const { office, handlers } = makeOffice({ apiToken: "", naa: true, to: ["pat@customer.example"] });
  const api = server(() => resolved(DEAL));
  load(office, api.fetch, { msal: fakeMsal("fail", calls), OfficeRuntime: fakeSso("ok", calls), SMARTBCC_MS_CLIENT_ID: CLIENT_ID });
  await fire(handlers.onNewMessageComposeHandler);
  assert.equal(api.calls[0].init.headers.Authorization, "Bearer sso-token");
  assert.deepEqual(calls.map((c) => c[0]), ["create", "silent", "sso"]);
  assert.deepEqual(calls[2][1], { allowSignInPrompt: false, allowConsentPrompt: false });
});

test("the task pane falls back to the sign-in dialog, whose token is then used", async () => {
  const calls = [];
  const dialogs = [];
  const ui = {
    displayDialogAsync(url, options, cb) {
      const handlers = {};
      const dialog = { addEventHandler(type, fn) { handlers[type] = fn; }, close() { dialogs.push("closed"); } };
      dialogs.push(url);
      cb({ status: "succeeded", value: dialog });
      setTimeout(() => handlers.dialogMessageReceived({ message: JSON.stringify({ token: "dialog-token" }) }), 5);
    },
  };
  const { office } = makeOffice({ apiToken: "", naa: true, extra: { ui } });
  const context = load(office, server(() => resolved(DEAL)).fetch, {
    msal: fakeMsal("fail", calls), OfficeRuntime: fakeSso("fail", calls), SMARTBCC_MS_CLIENT_ID: CLIENT_ID });
  assert.equal(await context.SmartBcc.getToken(true), "dialog-token");
  assert.deepEqual(dialogs, [`${BASE}/static/addin/signin.html`, "closed"]);
  assert.deepEqual(calls.map((c) => c[0]), ["create", "silent", "popup", "sso"]);
  assert.deepEqual(calls[3][1], { allowSignInPrompt: true, allowConsentPrompt: true });
  assert.equal(await context.SmartBcc.getToken(true), "dialog-token"); // kept for the pane's session
  assert.equal(dialogs.length, 2);
});

for (const [accountType, words] of [["outlookCom", "an Outlook.com"], ["gmail", "a Gmail"]]) {
  test(`an ${accountType} mailbox in Outlook gets a clear message instead of a sign-in attempt`, async () => {
    const calls = [];
    const { office, handlers, state } = makeOffice({ apiToken: "", naa: true, accountType });
    const api = server(() => resolved(DEAL));
    const context = load(office, api.fetch, {
      msal: fakeMsal("ok", calls), OfficeRuntime: fakeSso("ok", calls), SMARTBCC_MS_CLIENT_ID: CLIENT_ID });
    await fire(handlers.onNewMessageComposeHandler);
    assert.equal(api.calls.length, 0);
    assert.deepEqual(calls, []);
    assert.match(state.notices.smartbcc.message, /cannot sign you in here/);
    await assert.rejects(context.SmartBcc.getToken(true), (error) => {
      assert.match(error.message, new RegExp(`this is ${words} mailbox`));
      assert.match(error.message, /Microsoft 365 work or school/);
      return true;
    });
  });
}

test("without any sign-in method the handler asks the user to sign in and still completes", async () => {
  const { office, handlers, state } = makeOffice({ apiToken: "" });
  const api = server(() => resolved(DEAL));
  load(office, api.fetch);
  const completed = await fire(handlers.onNewMessageComposeHandler);
  assert.equal(completed, null);
  assert.equal(api.calls.length, 0);
  assert.match(state.notices.smartbcc.message, /Sign in to Smart Bcc/);
});
