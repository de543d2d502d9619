"""The add-in manifests: `smartbcc manifest ...`, the admin downloads, the JSON schema (offline), the XML elements, Gmail triggers."""
from __future__ import annotations

import io
import json
import re
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from backend.addins import manifests
from backend.cli import main
from backend.config import PROJECT_ROOT
from tests.addins.conftest import BASE_URL, CLIENT_ID

SCHEMA = (PROJECT_ROOT / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
          / "v1.24" / "MicrosoftTeams.schema.json")
COMMANDS_JS = PROJECT_ROOT / "static" / "addin" / "commands.js"
NS = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1",
      "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
      "v10": "http://schemas.microsoft.com/office/mailappversionoverrides",
      "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = f"{{{NS['xsi']}}}type"
HANDLERS = {"OnNewMessageCompose": "onNewMessageComposeHandler",
            "OnMessageRecipientsChanged": "onMessageRecipientsChangedHandler",
            "OnMessageSend": "onMessageSendHandler"}
DEPLOY = "https://crm.deploy.example"


@pytest.fixture(scope="module")
def schema():
    if not SCHEMA.exists():
        pytest.fail(f"{SCHEMA} is missing: run `npm install` (make test does) for the published schema")
    return json.loads(SCHEMA.read_text())


@pytest.fixture
def written(tmp_path):
    out = tmp_path / "outlook"
    result = CliRunner().invoke(main, ["manifest", "outlook", "--base-url", f"{DEPLOY}/", "--out", str(out),
                                       "--client-id", CLIENT_ID])
    assert result.exit_code == 0, result.output
    return out


def associated_names() -> set[str]:
    return set(re.findall(r'associate\("(\w+)"', COMMANDS_JS.read_text()))


# ---- the CLI

def test_cli_writes_both_outlook_manifests_the_icons_and_the_package(written):
    assert sorted(p.name for p in written.iterdir()) == [
        "color.png", "manifest.json", "manifest.xml", "outline.png", "smartbcc-outlook.zip"]
    for name in ("manifest.xml", "manifest.json"):
        text = (written / name).read_text()
        assert "{{" not in text
        assert DEPLOY in text and f"{DEPLOY}//" not in text
    with zipfile.ZipFile(written / "smartbcc-outlook.zip") as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert json.loads(archive.read("manifest.json")) == json.loads((written / "manifest.json").read_text())


def test_cli_writes_the_gmail_deployment(tmp_path):
    result = CliRunner().invoke(main, ["manifest", "gmail", "--base-url", DEPLOY, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    deployment = json.loads((tmp_path / "deployment.json").read_text())
    assert deployment["addOns"]["common"]["homepageTrigger"]["runFunction"] == f"{DEPLOY}/addons/gmail/homepage"


@pytest.mark.parametrize("url", ["http://crm.example", "crm.example", "https://", "https://crm.example/?x=1",
                                 'https://crm.example/"><x'])
def test_cli_refuses_a_base_url_office_cannot_load(tmp_path, url):
    result = CliRunner().invoke(main, ["manifest", "outlook", "--base-url", url, "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("error: the base URL must be")
    assert not list(tmp_path.iterdir())


def test_cli_takes_the_base_url_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SMARTBCC_BASE_URL", DEPLOY)
    monkeypatch.setenv("SMARTBCC_MS_CLIENT_ID", "")
    result = CliRunner().invoke(main, ["manifest", "outlook", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    xml = (tmp_path / "manifest.xml").read_text()
    assert DEPLOY in xml and "WebApplicationInfo" not in xml
    assert "webApplicationInfo" not in json.loads((tmp_path / "manifest.json").read_text())


def test_the_add_in_id_is_stable_per_base_url():
    first = manifests.Values.make(DEPLOY).app_id
    assert manifests.Values.make(DEPLOY + "/").app_id == first
    assert manifests.Values.make("https://other.example").app_id != first
    assert manifests.Values.make(DEPLOY, app_id="A1B2C3D4-0000-4000-8000-000000000001").app_id == \
        "a1b2c3d4-0000-4000-8000-000000000001"


# ---- the unified JSON manifest, against the published schema

def test_json_manifest_validates_against_the_published_schema(written, schema):
    manifest = json.loads((written / "manifest.json").read_text())
    validator = jsonschema.Draft4Validator(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(manifest)]
    assert errors == []
    assert manifest["manifestVersion"] == "1.24"
    assert manifest["$schema"].endswith("/v1.24/MicrosoftTeams.schema.json")


def test_json_manifest_without_client_id_validates_too(tmp_path, schema):
    manifest = manifests.outlook_json(manifests.Values.make(DEPLOY))
    assert list(jsonschema.Draft4Validator(schema).iter_errors(manifest)) == []


def test_json_manifest_wires_events_buttons_and_the_script(written):
    manifest = json.loads((written / "manifest.json").read_text())
    extension = manifest["extensions"][0]
    actions = {a["id"]: (runtime["id"], a["type"]) for runtime in extension["runtimes"] for a in runtime["actions"]}
    events = {e["type"]: (e["actionId"], e.get("options"), group["requirements"]["capabilities"][0]["minVersion"])
              for group in extension["autoRunEvents"] for e in group["events"]}
    assert events == {
        "newMessageComposeCreated": ("onNewMessageComposeHandler", None, "1.11"),
        "messageRecipientsChanged": ("onMessageRecipientsChangedHandler", None, "1.11"),
        "messageSending": ("onMessageSendHandler", {"sendMode": "promptUser"}, "1.12"),
    }
    for action_id, _options, _version in events.values():
        assert actions[action_id] == ("CommandsRuntime", "executeFunction")
    commands = next(r for r in extension["runtimes"] if r["id"] == "CommandsRuntime")
    assert commands["code"] == {"page": f"{DEPLOY}/static/addin/commands.html", "script": f"{DEPLOY}/addin/commands.js"}
    ribbon = extension["ribbons"][0]
    assert ribbon["contexts"] == ["mailCompose"]
    controls = {c["label"]: c["actionId"] for c in ribbon["tabs"][0]["groups"][0]["controls"]}
    assert controls == {"Bcc to CRM": "insertSmartBcc", "Pick deal": "openSmartBccPane"}
    assert actions["insertSmartBcc"] == ("CommandsRuntime", "executeFunction")
    assert actions["openSmartBccPane"] == ("TaskPaneRuntime", "openPage")
    # Every function the manifest names is associated in the one handler file, and nothing else.
    assert {a for a, (_r, kind) in actions.items() if kind == "executeFunction"} == associated_names()
    assert manifest["webApplicationInfo"] == {"id": CLIENT_ID, "resource": f"api://crm.deploy.example/{CLIENT_ID}"}
    assert manifest["validDomains"] == ["crm.deploy.example"]
    # Says what it supports: desktop and web; Mac and mobile need the XML manifest (README).
    assert extension["requirements"]["formFactors"] == ["desktop"]


# ---- the add-in-only XML manifest

def _xml(written) -> ET.Element:
    return ET.fromstring((written / "manifest.xml").read_text())


def test_xml_manifest_basics(written):
    root = _xml(written)
    assert root.tag == f"{{{NS['o']}}}OfficeApp" and root.get(XSI_TYPE) == "MailApp"
    assert re.fullmatch(r"[0-9a-f-]{36}", root.findtext("o:Id", namespaces=NS))
    assert root.findtext("o:Permissions", namespaces=NS) == "ReadWriteItem"
    assert root.find("o:Hosts/o:Host", NS).get("Name") == "Mailbox"
    assert root.find("o:FormSettings/o:Form", NS).get(XSI_TYPE) == "ItemEdit"
    urls = [e.get("DefaultValue") for e in root.iter() if e.get("DefaultValue", "").startswith("http")]
    assert urls and all(u.startswith(f"{DEPLOY}/") for u in urls)


def test_xml_manifest_version_overrides_1_1_with_events(written):
    root = _xml(written)
    outer = root.find("v10:VersionOverrides", NS)
    assert outer.get(XSI_TYPE) == "VersionOverridesV1_0"
    assert outer.find("v10:Requirements/bt:Sets", NS).get("DefaultMinVersion") == "1.3"
    inner = outer.find("v11:VersionOverrides", NS)
    assert inner.get(XSI_TYPE) == "VersionOverridesV1_1"
    sets = inner.find("v11:Requirements/bt:Sets", NS)
    # Mailbox 1.5: Outlook on iOS/Android stops there (plus the event APIs enabled on top); each
    # event still needs its own set on the desktop (1.10, 1.11, 1.12 for Smart Alerts).
    assert sets.get("DefaultMinVersion") == "1.5" and sets.find("bt:Set", NS).get("Name") == "Mailbox"
    host = inner.find("v11:Hosts/v11:Host", NS)
    assert host.get(XSI_TYPE) == "MailHost"
    runtime = host.find("v11:Runtimes/v11:Runtime", NS)
    override = runtime.find("v11:Override", NS)
    assert override.get("type") == "javascript"
    resources = {u.get("id"): u.get("DefaultValue") for u in inner.iter(f"{{{NS['bt']}}}Url")}
    assert resources[runtime.get("resid")] == f"{DEPLOY}/static/addin/commands.html"
    assert resources[override.get("resid")] == f"{DEPLOY}/addin/commands.js"
    points = {p.get(XSI_TYPE): p for p in host.find("v11:DesktopFormFactor", NS).findall("v11:ExtensionPoint", NS)}
    launch = points["LaunchEvent"]
    events = {e.get("Type"): (e.get("FunctionName"), e.get("SendMode"))
              for e in launch.findall("v11:LaunchEvents/v11:LaunchEvent", NS)}
    assert events == {"OnNewMessageCompose": ("onNewMessageComposeHandler", None),
                      "OnMessageRecipientsChanged": ("onMessageRecipientsChangedHandler", None),
                      "OnMessageSend": ("onMessageSendHandler", "PromptUser")}
    assert launch.find("v11:SourceLocation", NS).get("resid") == runtime.get("resid")
    assert set(HANDLERS.values()) <= associated_names()
    sso = inner.find("v11:WebApplicationInfo", NS)
    assert sso.findtext("v11:Id", namespaces=NS) == CLIENT_ID
    assert sso.findtext("v11:Resource", namespaces=NS) == f"api://crm.deploy.example/{CLIENT_ID}"


def test_xml_manifest_mobile_form_factor_runs_the_compose_events_only(written):
    inner = _xml(written).find("v10:VersionOverrides/v11:VersionOverrides", NS)
    host = inner.find("v11:Hosts/v11:Host", NS)
    # Schema order: Runtimes, DesktopFormFactor, MobileFormFactor.
    assert [child.tag.split("}")[1] for child in host] == ["Runtimes", "DesktopFormFactor", "MobileFormFactor"]
    mobile = host.find("v11:MobileFormFactor", NS)
    points = mobile.findall("v11:ExtensionPoint", NS)
    assert [p.get(XSI_TYPE) for p in points] == ["LaunchEvent"]
    events = {e.get("Type"): (e.get("FunctionName"), e.get("SendMode"))
              for e in points[0].findall("v11:LaunchEvents/v11:LaunchEvent", NS)}
    # No OnMessageSend: Smart Alerts do not run on iOS or Android.
    assert events == {"OnNewMessageCompose": ("onNewMessageComposeHandler", None),
                      "OnMessageRecipientsChanged": ("onMessageRecipientsChangedHandler", None)}
    # The same runtime as the desktop events: its JavaScript-only file is /addin/commands.js.
    runtime = host.find("v11:Runtimes/v11:Runtime", NS)
    assert points[0].find("v11:SourceLocation", NS).get("resid") == runtime.get("resid")
    assert runtime.find("v11:Override", NS).get("type") == "javascript"
    desktop = host.find("v11:DesktopFormFactor", NS)
    launch = next(p for p in desktop.findall("v11:ExtensionPoint", NS) if p.get(XSI_TYPE) == "LaunchEvent")
    assert launch.find("v11:SourceLocation", NS).get("resid") == runtime.get("resid")


def test_xml_manifest_send_mode_is_prompt_user_everywhere_it_is_declared(written):
    modes = [e.get("SendMode") for e in _xml(written).iter(f"{{{NS['v11']}}}LaunchEvent") if e.get("Type") == "OnMessageSend"]
    assert modes == ["PromptUser"]


def test_the_smart_alert_button_opens_the_pane_control_in_both_manifests(written):
    # commands.js answers a missing address with commandId = the pane button's Control id.
    pane_id = re.search(r'PANE_COMMAND_ID = "(\w+)"', COMMANDS_JS.read_text()).group(1)
    inner = _xml(written).find("v10:VersionOverrides/v11:VersionOverrides", NS)
    control = next(c for c in inner.iter(f"{{{NS['v11']}}}Control") if c.get("id") == pane_id)
    assert control.find("v11:Action", NS).get(XSI_TYPE) == "ShowTaskpane"
    extension = json.loads((written / "manifest.json").read_text())["extensions"][0]
    controls = [c for t in extension["ribbons"][0]["tabs"] for g in t["groups"] for c in g["controls"]]
    assert next(c for c in controls if c["id"] == pane_id)["actionId"] == "openSmartBccPane"


@pytest.mark.parametrize("ns", ["v10", "v11"])
def test_xml_manifest_compose_buttons(written, ns):
    root = _xml(written)
    overrides = root.find("v10:VersionOverrides", NS)
    if ns == "v11":
        overrides = overrides.find("v11:VersionOverrides", NS)
    surface = next(p for p in overrides.iter(f"{{{NS[ns]}}}ExtensionPoint")
                   if p.get(XSI_TYPE) == "MessageComposeCommandSurface")
    actions = {}
    for control in surface.iter(f"{{{NS[ns]}}}Control"):
        action = control.find(f"{ns}:Action", NS)
        actions[action.get(XSI_TYPE)] = action
    assert actions["ExecuteFunction"].findtext(f"{ns}:FunctionName", namespaces=NS) == "insertSmartBcc"
    pane = actions["ShowTaskpane"].find(f"{ns}:SourceLocation", NS).get("resid")
    urls = {u.get("id"): u.get("DefaultValue") for u in overrides.find(f"{ns}:Resources", NS).iter(f"{{{NS['bt']}}}Url")}
    assert urls[pane] == f"{DEPLOY}/static/addin/taskpane.html"
    labels = {s.get("id"): s.get("DefaultValue") for s in overrides.find(f"{ns}:Resources", NS).iter(f"{{{NS['bt']}}}String")}
    assert "Bcc to CRM" in labels.values()


def test_the_xml_template_itself_is_well_formed():
    ET.fromstring((PROJECT_ROOT / "addin-manifest" / "outlook" / "manifest.xml").read_text())


# ---- the Gmail deployment

def test_gmail_deployment_triggers_and_scopes():
    deployment = manifests.gmail_deployment(manifests.Values.make(DEPLOY))
    assert set(deployment["oauthScopes"]) >= {
        "https://www.googleapis.com/auth/gmail.addons.execute",
        "https://www.googleapis.com/auth/gmail.addons.current.message.metadata",
        "https://www.googleapis.com/auth/gmail.addons.current.action.compose",
        "https://www.googleapis.com/auth/userinfo.email",
    }
    addons = deployment["addOns"]
    assert addons["common"]["homepageTrigger"] == {"runFunction": f"{DEPLOY}/addons/gmail/homepage"}
    assert addons["gmail"]["contextualTriggers"] == [
        {"unconditional": {}, "onTriggerFunction": f"{DEPLOY}/addons/gmail/on-message"}]
    compose = addons["gmail"]["composeTrigger"]
    assert compose["draftAccess"] == "METADATA"
    assert compose["actions"][0]["runFunction"] == f"{DEPLOY}/addons/gmail/on-compose"
    assert addons["httpOptions"] == {"authorizationHeader": "SYSTEM_ID_TOKEN"}
    assert "{{" not in json.dumps(deployment)


def test_every_gmail_endpoint_in_the_deployment_exists(app):
    deployment = manifests.gmail_deployment(manifests.Values.make(DEPLOY))
    urls = re.findall(rf"{re.escape(DEPLOY)}(/addons/gmail/[\w-]+)", json.dumps(deployment))
    rules = {r.rule: r.methods for r in app.url_map.iter_rules()}
    assert urls and all("POST" in rules[u] for u in urls)
    assert "POST" in rules["/addons/gmail/bcc-action"]


# ---- the admin downloads

@pytest.mark.parametrize("name, mimetype", [("outlook.xml", "application/xml"), ("outlook.json", "application/json"),
                                            ("outlook.zip", "application/zip"), ("gmail.json", "application/json")])
def test_admins_download_the_manifests_filled_with_the_base_url(client, acme, name, mimetype):
    response = client.get(f"/api/v1/addin/manifests/{name}", headers=acme.auth)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"].startswith("attachment;")
    if name.endswith(".zip"):
        body = zipfile.ZipFile(io.BytesIO(response.data)).read("manifest.json").decode()
    else:
        body = response.get_data(as_text=True)
    assert BASE_URL in body and "{{" not in body


def test_members_get_403_and_strangers_401(client, make_account, acme):
    member = make_account("acme.example", "bob@acme.example", admin=False)
    response = client.get("/api/v1/addin/manifests/outlook.xml", headers=member.auth)
    assert response.status_code == 403
    assert "admin" in response.get_json()["error"]
    assert client.get("/api/v1/addin/manifests/outlook.json").status_code == 401


def test_an_admin_signed_in_to_the_web_pages_can_download(client, acme, services):
    from backend.models import User
    from backend.web import auth as web_auth

    with services.db.session() as session:
        stamp = web_auth._password_stamp(session.get(User, acme.user_id))
    with client.session_transaction() as cookie:
        cookie[web_auth.SESSION_KEY] = acme.user_id
        cookie["pw"] = stamp
    response = client.get("/api/v1/addin/manifests/outlook.xml")
    assert response.status_code == 200


def test_an_http_base_url_cannot_make_a_manifest(client, acme, services, monkeypatch):
    monkeypatch.setattr(services, "settings", services.settings.with_(base_url="http://127.0.0.1:5000"))
    response = client.get("/api/v1/addin/manifests/outlook.xml", headers=acme.auth)
    assert response.status_code == 409
    assert "https://" in response.get_json()["error"]


def test_downloaded_json_matches_the_cli_output(client, acme, tmp_path, settings):
    response = client.get("/api/v1/addin/manifests/outlook.json", headers=acme.auth)
    CliRunner().invoke(main, ["manifest", "outlook", "--base-url", BASE_URL, "--out", str(tmp_path),
                              "--client-id", settings.ms_client_id])
    assert response.get_json() == json.loads(Path(tmp_path, "manifest.json").read_text())
