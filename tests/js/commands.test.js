// The Outlook event handlers (static/addin/commands.js) under Node's test runner: the file is run
// in a fresh vm context, as Outlook's JavaScript-only runtime would, with office-addin-mock's
// OfficeMockObject as the Office global and a stub fetch in place of the Smart Bcc server.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { OfficeMockObject } = require("office-addin-mock");

const SOURCE = fs.readFileSync(path.join(__dirname, "..", "..", "static", "addin", "commands.js"), "utf8");
const BASE = "https://crm.example";
const COMPANY = "acme@bcc.test";
const DEAL = "acme+d7x2abcdefghijkmn@bcc.test";
const OLD_DEAL = "acme+dqqqqqqqqqqqqqqqq@bcc.test";

function details(address) {
  return typeof address === "string" ? { emailAddress: address, displayName: address.split("@")[0] } : address;
}

// An Outlook compose item as office-addin-mock sees it; `state` records what the handlers did.
function makeOffice({ to = [], cc = [], bcc = [], session = {}, apiToken = "sbc_dev_token" } = {}) {
  const handlers = {};
  const state = { bcc: bcc.map(details), headers: {}, notices: {}, session: { ...session }, setCalls: 0 };
  const ok = (value) => ({ status: "succeeded", value });
  const missing = (what) => ({ status: "failed", error: { name: "NotFound", message: `${what} not found` } });
  const data = {
    host: "outlook",
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    MailboxEnums: { ItemNotificationMessageType: { InformationalMessage: "informationalMessage" } },
    actions: { associate(name, fn) { handlers[name] = fn; } },
    context: {
      requirements: { isSetSupported() { return false; } },
      roamingSettings: { get(name) { return name === "smartbccApiToken" ? apiToken : undefined; } },
      mailbox: {
        item: {
          to: { getAsync(cb) { cb(ok(to.map(details))); } },
          cc: { getAsync(cb) { cb(ok(cc.map(details))); } },
          bcc: {
            getAsync(cb) { cb(ok(state.bcc.map((r) => ({ ...r })))); },
            setAsync(list, cb) {
              state.setCalls += 1;
              state.bcc = plain(list).map((r) => (typeof r === "string" ? details(r) : r));
              cb(ok());
            },
          },
          internetHeaders: { setAsync(headers, cb) { Object.assign(state.headers, plain(headers)); cb(ok()); } },
          notificationMessages: {
            replaceAsync(key, message, cb) { state.notices[key] = plain(message); cb(ok()); },
            removeAsync(key, cb) { delete state.notices[key]; cb(ok()); },
          },
          sessionData: {
            getAsync(key, cb) { cb(key in state.session ? ok(state.session[key]) : missing(key)); },
            setAsync(key, value, cb) { state.session[key] = plain(value); cb(ok()); },
            removeAsync(key, cb) { delete state.session[key]; cb(ok()); },
          },
        },
      },
    },
  };
  return { office: new OfficeMockObject(data), handlers, state };
}

// A server that answers resolve with `answer(body)`; every request is recorded.
function server(answer) {
  const calls = [];
  const fetch = async (url, init) => {
    const body = JSON.parse(init.body);
    calls.push({ url, init: plain(init), body });
    const [status, payload] = answer(body);
    return { ok: status < 400, status, json: async () => payload };
  };
  return { fetch, calls };
}

function resolved(address, replace = [], extra = {}) {
  return [200, { success: true, data: { address, reason: "test reason", reason_code: "only-open-deal", item: null,
    company_address: COMPANY, candidates: { deals: [], leads: [] }, replace, ...extra } }];
}

function load(office, fetch) {
  const context = vm.createContext({ Office: office, fetch, setTimeout, clearTimeout, console, SMARTBCC_BASE_URL: BASE });
  vm.runInContext(SOURCE, context, { filename: "commands.js" });
  return context;
}

// Values made inside the vm context have that realm's prototypes; compare plain copies.
function plain(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function fire(handler, extra = {}) {
  return new Promise((resolve) => {
    handler({ ...extra, completed(options) { resolve(plain(options)); } });
  });
}

function bccAddresses(state) {
  return plain(state.bcc).map((r) => r.emailAddress);
}

test("the file has no imports, no modules and no DOM, and associates every handler", () => {
  assert.doesNotMatch(SOURCE, /^\s*import\s|\brequire\(|\bexport\s|\bdocument\.|\bwindow\./m);
  const { office, handlers } = makeOffice();
  load(office, server(() => resolved(COMPANY)).fetch);
  assert.deepEqual(Object.keys(handlers).sort(), [
    "insertSmartBcc", "onMessageRecipientsChangedHandler", "onMessageSendHandler", "onNewMessageComposeHandler"]);
});

test("new compose inserts the resolved address into Bcc and asks the server with the draft's recipients", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], cc: ["sam@customer.example"] });
  const api = server(() => resolved(DEAL));
  load(office, api.fetch);
  const completed = await fire(handlers.onNewMessageComposeHandler);
  assert.equal(completed, null);
  assert.deepEqual(bccAddresses(state), [DEAL]);
  assert.equal(api.calls.length, 1);
  const [call] = api.calls;
  assert.equal(call.url, `${BASE}/api/v1/addin/resolve`);
  assert.equal(call.init.method, "POST");
  assert.equal(call.init.headers.Authorization, "Bearer sbc_dev_token");
  assert.deepEqual(call.body, { to: ["pat@customer.example"], cc: ["sam@customer.example"], bcc: [], item: null });
});

test("a previous Smart Bcc address is replaced, not added to", async () => {
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

test("on send: the correlation header is set, the address ensured, and the mail allowed", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  load(office, server(() => resolved(DEAL)).fetch);
  const completed = await fire(handlers.onMessageSendHandler);
  assert.deepEqual(completed, { allowEvent: true });
  assert.match(state.headers["x-smartbcc-ref"], /^sbc-[0-9a-f]{24}$/);
  assert.deepEqual(bccAddresses(state), [DEAL]);
  assert.deepEqual(state.notices, {});
});

test("on send: the server is told the ref and the address used, so it can fetch the sent copy", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  const api = server((body) => ("ref" in body ? [201, { success: true, data: { status: "pending" } }] : resolved(DEAL)));
  load(office, api.fetch);
  const completed = await fire(handlers.onMessageSendHandler);
  assert.deepEqual(completed, { allowEvent: true });
  const announce = api.calls.find((c) => c.url.endsWith("/api/v1/addin/sent"));
  assert.ok(announce, "no announcement was sent");
  assert.deepEqual(announce.body, { ref: state.headers["x-smartbcc-ref"], address: DEAL });
  assert.equal(announce.init.headers.Authorization, "Bearer sbc_dev_token");
});

test("on send: a failing announcement does not hold the mail or alarm the user", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  const api = server((body) => ("ref" in body ? [503, { success: false, error: "down" }] : resolved(DEAL)));
  load(office, api.fetch);
  const completed = await fire(handlers.onMessageSendHandler);
  assert.deepEqual(completed, { allowEvent: true });
  assert.deepEqual(state.notices, {});
});

test("on send with the backend down: the mail goes, and the notification bar says so", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"], bcc: ["boss@acme.example"] });
  const fetch = async () => { throw new TypeError("Failed to fetch"); };
  load(office, fetch);
  const completed = await fire(handlers.onMessageSendHandler);
  assert.deepEqual(completed, { allowEvent: true });
  assert.match(state.notices.smartbcc.message, /could not be reached/);
  assert.equal(state.notices.smartbcc.type, "informationalMessage");
  assert.ok(state.notices.smartbcc.message.length <= 150);
  assert.deepEqual(bccAddresses(state), ["boss@acme.example"]);
  assert.match(state.headers["x-smartbcc-ref"], /^sbc-/);
});

test("on send with a backend that never answers: allowed before Outlook's 5 second mark", async () => {
  const { office, handlers } = makeOffice({ to: ["pat@customer.example"] });
  load(office, () => new Promise(() => {}));
  const started = Date.now();
  const completed = await fire(handlers.onMessageSendHandler);
  assert.deepEqual(completed, { allowEvent: true });
  assert.ok(Date.now() - started < 5000);
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

test("without any sign-in method the handler asks the user to sign in and still completes", async () => {
  const { office, handlers, state } = makeOffice({ apiToken: "" });
  const api = server(() => resolved(DEAL));
  load(office, api.fetch);
  const completed = await fire(handlers.onNewMessageComposeHandler);
  assert.equal(completed, null);
  assert.equal(api.calls.length, 0);
  assert.match(state.notices.smartbcc.message, /Sign in to Smart Bcc/);
});
