/*
 * The sign-in dialog the task pane opens when neither nested app authentication nor Office SSO
 * gives a token (Office.context.ui.displayDialogAsync). MSAL's standard public client signs in by
 * redirect, with this page as the redirect URI (register it as a single-page application redirect,
 * docs/entra-app-registration.md); the access token goes back to the pane with messageParent.
 */
(function () {
  "use strict";

  function say(text) {
    document.getElementById("signin-status").textContent = text;
  }

  function answer(message) {
    var ui = window.Office && window.Office.context && window.Office.context.ui;
    if (ui && typeof ui.messageParent === "function") {
      ui.messageParent(JSON.stringify(message));
    } else {
      say("Close this window and open the Smart Bcc pane in Outlook to sign in.");
    }
  }

  function signIn() {
    var clientId = window.SMARTBCC_MS_CLIENT_ID;
    if (!window.msal || !clientId) {
      answer({ error: "Microsoft sign-in is not set up on this Smart Bcc server." });
      return;
    }
    var host = (window.SMARTBCC_BASE_URL || window.location.origin)
      .replace(/^https?:\/\//, "")
      .replace(/\/.*$/, "");
    var request = { scopes: ["api://" + host + "/" + clientId + "/access_as_user"] };
    var app = new window.msal.PublicClientApplication({
      auth: {
        clientId: clientId,
        authority: "https://login.microsoftonline.com/common",
        redirectUri: window.location.origin + window.location.pathname,
      },
      cache: { cacheLocation: "sessionStorage" },
    });
    app
      .initialize()
      .then(function () {
        return app.handleRedirectPromise();
      })
      .then(function (result) {
        if (result && result.accessToken) {
          answer({ token: result.accessToken });
          return null;
        }
        return app.acquireTokenRedirect(request);
      })
      .then(null, function (error) {
        answer({ error: (error && (error.errorMessage || error.message)) || String(error) });
      });
  }

  if (window.Office && typeof window.Office.onReady === "function") {
    window.Office.onReady(signIn);
  } else {
    signIn();
  }
})();
