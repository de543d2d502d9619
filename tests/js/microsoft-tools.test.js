// Microsoft's own tools check the Outlook add-in:
// - office-addin-manifest-converter converts the XML manifest that `smartbcc manifest outlook`
//   generates, without errors or warnings, and the result validates against the unified-manifest
//   schema of the version it declares (the copy in @microsoft/app-manifest: no network);
// - ESLint with eslint-plugin-office-addins' recommended configuration (eslint.config.js) finds
//   nothing in static/addin/*.js.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const ROOT = path.join(__dirname, "..", "..");
const PYTHON = process.env.SMARTBCC_PYTHON || path.join(ROOT, ".venv", "bin", "python");
const BASE = "https://crm.deploy.example";
const CLIENT_ID = "6f1f3c52-1a8e-4c3e-9d7a-3b2f1e0c9a11";

function generatedXml(dir) {
  assert.ok(fs.existsSync(PYTHON), `${PYTHON} is missing: run \`make test-deps\` (or set SMARTBCC_PYTHON)`);
  execFileSync(PYTHON, ["-m", "backend.cli", "manifest", "outlook", "--base-url", BASE, "--out", dir,
    "--client-id", CLIENT_ID], { cwd: ROOT, stdio: "pipe" });
  return path.join(dir, "manifest.xml");
}

// Runs fn with console.log/console.error captured (the converter reports through them).
async function captured(fn) {
  const lines = [];
  const saved = { log: console.log, error: console.error };
  console.log = (...args) => lines.push(args.join(" "));
  console.error = (...args) => lines.push(args.join(" "));
  try {
    await fn();
  } finally {
    Object.assign(console, saved);
  }
  return lines;
}

test("the generated XML manifest converts to a unified manifest that validates against its schema", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smartbcc-manifest-"));
  try {
    const xml = generatedXml(path.join(dir, "outlook"));
    const out = path.join(dir, "converted");
    const { convert } = require("office-addin-manifest-converter/lib/main");
    const lines = await captured(() => convert(xml, out, false, null, null, true));
    const problems = lines.filter((line) => /WARNING|ERROR/.test(line));
    assert.deepEqual(problems, [], lines.join("\n"));

    const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
    const version = manifest.manifestVersion;
    const schemaFile = path.join(ROOT, "node_modules", "@microsoft", "app-manifest", "build", "json-schemas",
      "teams", `v${version}`, "MicrosoftTeams.schema.json");
    assert.ok(fs.existsSync(schemaFile), `no local schema for manifestVersion ${version}`);
    const { AppManifestUtils } = require("@microsoft/app-manifest");
    const errors = await AppManifestUtils.validateAgainstSchema(manifest, JSON.parse(fs.readFileSync(schemaFile, "utf8")));
    assert.deepEqual(errors, []);

    // What the conversion kept: the three events, PromptUser, and the mobile compose events.
    const extension = manifest.extensions[0];
    const byFormFactor = {};
    for (const group of extension.autoRunEvents) {
      for (const formFactor of group.requirements.formFactors) {
        byFormFactor[formFactor] = group.events.map((e) => [e.type, e.options && e.options.sendMode]);
      }
    }
    assert.deepEqual(byFormFactor, {
      desktop: [["newMessageComposeCreated", undefined], ["messageRecipientsChanged", undefined],
        ["messageSending", "promptUser"]],
      mobile: [["newMessageComposeCreated", undefined], ["messageRecipientsChanged", undefined]],
    });
    const scripts = extension.runtimes.map((r) => r.code.script).filter(Boolean);
    assert.deepEqual(scripts, [`${BASE}/addin/commands.js`]);
    assert.equal(manifest.webApplicationInfo.id, CLIENT_ID);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("eslint-plugin-office-addins (recommended) finds nothing in the add-in JavaScript", async () => {
  const { ESLint } = require("eslint");
  const eslint = new ESLint({ cwd: ROOT });
  const files = fs.readdirSync(path.join(ROOT, "static", "addin")).filter((f) => f.endsWith(".js"))
    .map((f) => path.join("static", "addin", f));
  assert.ok(files.includes(path.join("static", "addin", "commands.js")));
  const results = await eslint.lintFiles(files);
  const config = await eslint.calculateConfigForFile(files[0]);
  assert.ok(Object.keys(config.rules).some((rule) => rule.startsWith("office-addins/")), "the plugin's rules are off");
  assert.equal(config.rules["prettier/prettier"][0], 2);
  const messages = results.flatMap((r) => r.messages.map((m) => `${path.relative(ROOT, r.filePath)}:${m.line} ${m.ruleId} ${m.message}`));
  assert.deepEqual(messages, []);
});
