// ESLint for the add-in JavaScript (static/addin/*.js): Microsoft's eslint-plugin-office-addins
// with its recommended configuration (ESLint's recommended rules, the Office add-in rules and
// Prettier with office-addin-prettier-config, named in package.json). Run by tests/js/lint.test.js.
"use strict";

const officeAddins = require("eslint-plugin-office-addins");

// What the add-in files may use besides the language: the browser, Office.js and MSAL.
const GLOBALS = {
  Office: "readonly",
  OfficeRuntime: "readonly",
  window: "readonly",
  document: "readonly",
  globalThis: "readonly",
  setTimeout: "readonly",
  clearTimeout: "readonly",
  Promise: "readonly",
  Uint8Array: "readonly",
  JSON: "readonly",
  console: "readonly",
};

module.exports = [
  { ignores: ["static/addin/vendor/**", "node_modules/**"] },
  ...officeAddins.configs.recommended,
  {
    files: ["static/addin/*.js"],
    languageOptions: { globals: GLOBALS },
  },
];
