// Privacy chosen while writing (issue 19, part 4) in static/addin/commands.js: the pane's choice is
// kept in the item's session data, every resolve (compose events, the button, send) tells the
// server, and the tagged address the server answers with replaces the untagged one in Bcc. The
// send handler still writes no recipient.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const { COMPANY, DEAL, plain, makeOffice, server, resolved, load, fire, fireSend, bccAddresses } =
  require("./outlook-mock");

const SHARED = COMPANY.replace("@", "+shared@");
const DEAL_PRIVATE = DEAL.replace("@", "+private@");

// A server that tags like the real one: the chosen privacy, else the tag already in the Bcc.
function taggingServer(base) {
  return server((body) => {
    if ("ref" in body) {
      return [201, { success: true, data: { status: "pending" } }];
    }
    const inBcc = body.bcc.map((a) => (/\+(private|shared)@/.exec(a) || [])[1]).find(Boolean) || null;
    const privacy = body.privacy === "default" ? null : body.privacy || inBcc;
    const address = privacy ? base.replace("@", `+${privacy}@`) : base;
    return resolved(address, body.bcc.filter((a) => a !== address && a.endsWith("@bcc.test")),
      { privacy: { default: "private", chosen: privacy, effective: privacy || "private" } });
  });
}

test("without a choice, resolve is asked without privacy and the address stays untagged", async () => {
  const { office, handlers, state } = makeOffice({ to: ["pat@customer.example"] });
  const api = taggingServer(COMPANY);
  load(office, api.fetch);
  await fire(handlers.onNewMessageComposeHandler);
  assert.equal("privacy" in api.calls[0].body, false);
  assert.deepEqual(bccAddresses(state), [COMPANY]);
});

test("the pane's choice is kept for the draft and the Bcc gets the tagged address", async () => {
  const { office, state } = makeOffice({ to: ["pat@customer.example"], bcc: [COMPANY] });
  const api = taggingServer(COMPANY);
  const context = load(office, api.fetch);
  await context.SmartBcc.writePrivacy("shared");
  assert.deepEqual(plain(state.session), { "smartbcc.privacy": "shared" });
  assert.equal(await context.SmartBcc.readPrivacy(), "shared");
  const outcome = await context.SmartBcc.ensureBcc(true);
  assert.equal(outcome.changed, true);
  assert.equal(api.calls[0].body.privacy, "shared");
  assert.deepEqual(bccAddresses(state), [SHARED]);
  await assert.rejects(context.SmartBcc.writePrivacy("everyone"), /Choose private or shared/);
});

test("a compose event after the choice keeps the tag when the recipients change the deal", async () => {
  const { office, handlers, state } = makeOffice({
    to: ["pat@customer.example"], bcc: [COMPANY.replace("@", "+private@")],
    session: { "smartbcc.privacy": "private" },
  });
  const api = taggingServer(DEAL);
  load(office, api.fetch);
  await fire(handlers.onMessageRecipientsChangedHandler, { changedRecipientFields: { to: true } });
  assert.equal(api.calls[0].body.privacy, "private");
  assert.deepEqual(bccAddresses(state), [DEAL_PRIVATE]);
});

test("send with the tagged address present: allowed, announced, no recipient written", async () => {
  const { office, handlers, state } = makeOffice({
    to: ["pat@customer.example"], bcc: [DEAL_PRIVATE], session: { "smartbcc.privacy": "private" },
  });
  const api = taggingServer(DEAL);
  load(office, api.fetch);
  const completed = await fireSend(handlers, state);
  assert.deepEqual(completed, { allowEvent: true });
  assert.equal(api.calls[0].body.privacy, "private");
  const announcement = api.calls.find((c) => "ref" in c.body);
  assert.equal(announcement.body.address, DEAL_PRIVATE);
});

test("send when the Bcc lost the tag: the Smart Alert names the tagged address", async () => {
  const { office, handlers, state } = makeOffice({
    to: ["pat@customer.example"], bcc: [DEAL], session: { "smartbcc.privacy": "private" },
  });
  load(office, taggingServer(DEAL).fetch);
  const completed = await fireSend(handlers, state);
  assert.equal(completed.allowEvent, false);
  assert.match(completed.errorMessage, new RegExp(DEAL_PRIVATE.replace(/[+.]/g, "\\$&")));
  assert.deepEqual(bccAddresses(state), [DEAL]); // unchanged: send never writes recipients
});
