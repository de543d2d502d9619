// Shared harness for the Outlook handler tests: static/addin/commands.js run in a fresh vm
// context, as Outlook's JavaScript-only runtime would, with office-addin-mock's OfficeMockObject as
// the Office global and a stub fetch in place of the Smart Bcc server.
//
// Every recipient write (to/cc/bcc setAsync, addAsync, removeAsync) goes through a spy; while a
// send event runs (`state.sending`), any such call is recorded in `state.forbidden`, and
// fireSend() fails the test when the list is not empty.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { OfficeMockObject } = require("office-addin-mock");

const ROOT = path.join(__dirname, "..", "..");
const SOURCE = fs.readFileSync(path.join(ROOT, "static", "addin", "commands.js"), "utf8");
const BASE = "https://crm.example";
const COMPANY = "acme@bcc.test";
const DEAL = "acme+d7x2abcdefghijkmn@bcc.test";
const OLD_DEAL = "acme+dqqqqqqqqqqqqqqqq@bcc.test";
const RECIPIENT_WRITES = ["setAsync", "addAsync", "removeAsync"];

// Values made inside the vm context have that realm's prototypes; compare plain copies.
function plain(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function details(address) {
  return typeof address === "string" ? { emailAddress: address, displayName: address.split("@")[0] } : address;
}

function versionAtMost(version, max) {
  const a = String(version).split(".").map(Number);
  const b = String(max).split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] || 0) !== (b[i] || 0)) {
      return (a[i] || 0) < (b[i] || 0);
    }
  }
  return true;
}

// The clients the tests play. `sets` are the highest supported versions (Mailbox on Outlook on
// iOS/Android is 1.5, with the event APIs Microsoft enabled on top; Smart Alerts need 1.12, the
// custom button and send mode override 1.14).
const CLIENTS = {
  web: { sets: { Mailbox: "1.15" }, sendModeOverride: true },
  classic112: { sets: { Mailbox: "1.12" }, sendModeOverride: false },
  mobile: { sets: { Mailbox: "1.5" }, sendModeOverride: false },
};

// An Outlook compose item as office-addin-mock sees it; `state` records what the handlers did.
function makeOffice({
  to = [], cc = [], bcc = [], session = {}, apiToken = "sbc_dev_token", client = "web", naa = false,
  accountType = "office365", extra = {}, subject = null,
} = {}) {
  const handlers = {};
  const profile = CLIENTS[client];
  const state = {
    to: to.map(details), cc: cc.map(details), bcc: bcc.map(details), headers: {}, notices: {},
    session: { ...session }, setCalls: 0, writes: [], forbidden: [], sending: false,
  };
  const ok = (value) => ({ status: "succeeded", value });
  const missing = (what) => ({ status: "failed", error: { name: "NotFound", message: `${what} not found` } });
  const field = (name) => {
    const api = { getAsync(cb) { cb(ok(state[name].map((r) => ({ ...r })))); } };
    for (const method of RECIPIENT_WRITES) {
      api[method] = (...args) => {
        const cb = args.pop();
        const call = `${name}.${method}`;
        state.writes.push(call);
        if (state.sending) {
          state.forbidden.push(call);
        }
        const list = plain(args[0]) || [];
        if (method === "setAsync") {
          state.setCalls += 1;
          state[name] = list.map((r) => (typeof r === "string" ? details(r) : r));
        } else if (method === "addAsync") {
          state[name] = state[name].concat(list.map(details));
        } else {
          const gone = new Set(list.map((r) => (typeof r === "string" ? r : r.emailAddress)));
          state[name] = state[name].filter((r) => !gone.has(r.emailAddress));
        }
        cb(ok());
      };
    }
    return api;
  };
  const enums = { ItemNotificationMessageType: { InformationalMessage: "informationalMessage" } };
  if (profile.sendModeOverride) {
    enums.SendModeOverride = { PromptUser: "promptUser" };
  }
  const data = {
    host: "outlook",
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { DialogMessageReceived: "dialogMessageReceived", DialogEventReceived: "dialogEventReceived" },
    MailboxEnums: enums,
    actions: { associate(name, fn) { handlers[name] = fn; } },
    context: {
      requirements: {
        isSetSupported(name, version) {
          if (name === "NestedAppAuth") {
            return naa;
          }
          return name in profile.sets && versionAtMost(version || "1.1", profile.sets[name]);
        },
      },
      roamingSettings: { get(name) { return name === "smartbccApiToken" ? apiToken : undefined; } },
      mailbox: {
        userProfile: { accountType, emailAddress: "alice@acme.example" },
        item: {
          to: field("to"),
          cc: field("cc"),
          bcc: field("bcc"),
          ...(subject === null ? {} : { subject: { getAsync(cb) { cb(ok(subject)); } } }),
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
      ...extra,
    },
  };
  return { office: new OfficeMockObject(data), handlers, state };
}

// A server that answers with `answer(body, url)` -> [status, payload]; every request is recorded.
function server(answer) {
  const calls = [];
  const fetch = async (url, init) => {
    const body = JSON.parse(init.body);
    calls.push({ url, init: plain({ ...init, signal: undefined }), body, signal: init.signal });
    const [status, payload] = answer(body, url);
    return { ok: status < 400, status, json: async () => payload };
  };
  return { fetch, calls };
}

function resolved(address, replace = [], extra = {}) {
  return [200, { success: true, data: { address, reason: "test reason", reason_code: "only-open-deal", item: null,
    company_address: COMPANY, candidates: { deals: [], leads: [] }, replace, ...extra } }];
}

// resolve -> `address`; the announcement -> 201.
function serverFor(address, replace = []) {
  return server((body) => ("ref" in body ? [201, { success: true, data: { status: "pending" } }]
    : resolved(address, replace)));
}

function load(office, fetch, globals = {}) {
  const context = vm.createContext({ Office: office, fetch, setTimeout, clearTimeout, console,
    AbortController, SMARTBCC_BASE_URL: BASE, ...globals });
  vm.runInContext(SOURCE, context, { filename: "commands.js" });
  return context;
}

function fire(handler, extra = {}) {
  return new Promise((resolve) => {
    handler({ ...extra, completed(options) { resolve(plain(options)); } });
  });
}

// Runs the send handler with every recipient write forbidden; returns what it completed with.
async function fireSend(handlers, state) {
  state.sending = true;
  const started = Date.now();
  const completed = await fire(handlers.onMessageSendHandler);
  state.sending = false;
  assert.deepEqual(state.forbidden, [], "the send handler called a recipient API");
  assert.ok(Date.now() - started < 4000, `the send handler took ${Date.now() - started} ms`);
  return completed;
}

function bccAddresses(state) {
  return plain(state.bcc).map((r) => r.emailAddress);
}

module.exports = {
  ROOT, SOURCE, BASE, COMPANY, DEAL, OLD_DEAL, plain, makeOffice, server, serverFor, resolved, load, fire,
  fireSend, bccAddresses,
};
