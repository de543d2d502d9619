"""The Outlook add-in's HTTP surface: resolve, manifest downloads, the handler script with its settings, and the well-known allow list."""
from __future__ import annotations

import json

from flask import Blueprint, Response, g, request
from marshmallow import Schema, fields

from ..api.common import db_session, json_body, ok, services
from ..request_scope import actor
from ..api.errors import ApiError
from ..api.openapi import document
from ..config import PROJECT_ROOT
from ..models import Company
from . import cors, manifests
from .auth import addin_login_required, authenticate, unauthorized
from .resolve import MAX_BODY, MAX_SUBJECT, parse_addresses, parse_choice, parse_privacy, parse_text, resolve

api = Blueprint("addin", __name__, url_prefix="/api/v1/addin")
assets = Blueprint("addin_assets", __name__)
COMMANDS_JS = PROJECT_ROOT / "static" / "addin" / "commands.js"


def _settings():
    return services().settings


@api.after_request
def _cors(response):
    return cors.apply(response, _settings().base_url)


class AddinResolveRequestSchema(Schema):
    to = fields.List(fields.Str(), metadata={"description": "To addresses of the draft"})
    cc = fields.List(fields.Str())
    bcc = fields.List(fields.Str())
    item = fields.Raw(allow_none=True, metadata={
        "description": 'null: automatic; "none": the company address; or {"item_type", "item_id"}'})
    subject = fields.Str(metadata={"description": "The draft's subject: ranks several open deals"})
    body = fields.Str(metadata={"description": "The draft's text: ranks several open deals"})
    privacy = fields.Str(allow_none=True, metadata={
        "enum": ["private", "shared", "default"],
        "description": "The rep's choice for the conversation the mail starts, carried by the address's tag; "
                       "default: no tag (the user's setting); left out: the tag already in the draft's Bcc"})


class AddinCandidateSchema(Schema):
    item_type = fields.Str()
    id = fields.Int()
    title = fields.Str()
    person_name = fields.Str()
    bcc_address = fields.Str(allow_none=True)
    score = fields.Float(metadata={"description": "Deals, when several are open: 0-1, best first"})
    reasons = fields.List(fields.Str(), metadata={"description": "The evidence behind the score, in words"})


class AddinCandidatesSchema(Schema):
    deals = fields.List(fields.Nested(AddinCandidateSchema))
    leads = fields.List(fields.Nested(AddinCandidateSchema))


class AddinLinkSchema(AddinCandidateSchema):
    rule = fields.Str()


class AddinRuleSchema(Schema):
    rule = fields.Str()
    hit = fields.Bool()
    code = fields.Str()
    reason = fields.Str()


class AddinPrivacySchema(Schema):
    default = fields.Str(metadata={"description": "The user's setting for new conversations"})
    chosen = fields.Str(allow_none=True, metadata={"description": "The tag the address carries, or null"})
    effective = fields.Str(metadata={"description": "What a new conversation of this mail will be"})


class AddinResolveSchema(Schema):
    address = fields.Str(metadata={"description": "The one Smart Bcc address the draft should carry"})
    reason = fields.Str()
    reason_code = fields.Str(metadata={"enum": ["chosen", "chosen-without-address", "none-chosen", "item-address",
                                                "only-open-deal", "confident-deal", "several-open-deals", "setting-off",
                                                "no-open-deal", "no-known-recipients"]})
    needs_deal_choice = fields.Bool(metadata={
        "description": "The recipients' contacts have several open deals: the mail waits for a choice"})
    links = fields.List(fields.Nested(AddinLinkSchema), metadata={
        "description": "What the mail will be linked to when it arrives (the pipeline's link rules)"})
    rules = fields.List(fields.Nested(AddinRuleSchema), metadata={
        "description": "Each link rule, in order: whether it fired and why"})
    item = fields.Nested(AddinCandidateSchema, allow_none=True)
    company_address = fields.Str()
    candidates = fields.Nested(AddinCandidatesSchema)
    replace = fields.List(fields.Str(), metadata={"description": "Smart Bcc addresses in Bcc to remove"})
    deal_choice_policy = fields.Str(allow_none=True, metadata={
        "description": "With several open deals: the company's policy (ask, suggest, auto_when_confident)"})
    suggested = fields.Nested(AddinCandidateSchema, allow_none=True, metadata={
        "description": "Under suggest: the deal to pre-select in the picker"})
    privacy = fields.Nested(AddinPrivacySchema, metadata={
        "description": "Private or shared, chosen while writing: decides a new conversation's visibility"})


document("/addin/resolve", "post", "The Smart Bcc address for a draft, its candidates and what to replace",
         request=AddinResolveRequestSchema(), response=AddinResolveSchema(), status=200)


@api.post("/resolve")
@addin_login_required
def resolve_view():
    body = json_body()
    to = parse_addresses(body.get("to"), "to")
    cc = parse_addresses(body.get("cc"), "cc")
    bcc = parse_addresses(body.get("bcc"), "bcc")
    choice = parse_choice(body.get("item"))
    subject = parse_text(body.get("subject"), "subject", MAX_SUBJECT)
    text = parse_text(body.get("body"), "body", MAX_BODY)
    privacy = parse_privacy(body.get("privacy"))
    session = db_session()
    company = session.get(Company, g.company_id)
    return ok(resolve(session, actor(), company, _settings().mail_domain, to=to, cc=cc, bcc=bcc, choice=choice,
                      subject=subject, body=text, privacy=privacy))


def _admin():
    """Admins only; a bearer token (API or Microsoft) or the settings page's signed-in session."""
    if request.headers.get("Authorization"):
        user = authenticate()
    else:
        from ..web.auth import session_user

        user = session_user()
        if user is None:
            raise unauthorized("Sign in as a company admin to download the add-in manifests.")
    if not user.is_admin:
        raise ApiError(403, "Only a company admin can download the add-in manifests; ask your admin.")
    return user


def _values() -> manifests.Values:
    settings = _settings()
    try:
        return manifests.Values.make(settings.base_url, settings.ms_client_id)
    except manifests.ManifestError as exc:
        # An http:// base URL is fine for trying Smart Bcc locally, but no Office or Gmail loads it.
        raise ApiError(409, f"Cannot build the manifest: {exc}.") from exc


def _download(body, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


for _path, _summary in (("/addin/manifests/outlook.xml", "Outlook add-in-only XML manifest (admins)"),
                        ("/addin/manifests/outlook.json", "Outlook unified JSON manifest (admins)"),
                        ("/addin/manifests/outlook.zip", "Microsoft 365 app package with the JSON manifest (admins)"),
                        ("/addin/manifests/gmail.json", "Gmail add-on deployment.json (admins)")):
    document(_path, "get", _summary)


@api.get("/manifests/outlook.xml")
def outlook_xml():
    _admin()
    return _download(manifests.outlook_xml(_values()), "application/xml", "smartbcc-outlook.xml")


@api.get("/manifests/outlook.json")
def outlook_json():
    _admin()
    return _download(manifests.dumps(manifests.outlook_json(_values())), "application/json", "manifest.json")


@api.get("/manifests/outlook.zip")
def outlook_zip():
    _admin()
    return _download(manifests.outlook_package(_values()), "application/zip", "smartbcc-outlook.zip")


@api.get("/manifests/gmail.json")
def gmail_json():
    _admin()
    return _download(manifests.dumps(manifests.gmail_deployment(_values())), "application/json",
                     "deployment.json")


def _config_js() -> str:
    settings = _settings()
    # Relative URLs do not work in the JavaScript-only runtime, so the script is told its server.
    return (f"var SMARTBCC_BASE_URL = {json.dumps(settings.base_url)};\n"
            f"var SMARTBCC_MS_CLIENT_ID = {json.dumps(settings.ms_client_id)};\n")


def _script(body: str) -> Response:
    response = Response(body, mimetype="application/javascript")
    # Short-lived: a new deployment's handlers must reach Outlook soon.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@assets.get("/addin/config.js")
def config_js():
    return _script(_config_js())


@assets.get("/addin/commands.js")
def commands_js():
    """The event handlers with their settings in front: the one file classic Outlook loads."""
    return _script(_config_js() + COMMANDS_JS.read_text(encoding="utf-8"))


@assets.get("/.well-known/microsoft-officeaddins-allowed.json")
def officeaddins_allowed():
    # The JavaScript-only runtime may only call out (CORS, SSO) from scripts listed here.
    base = _settings().base_url.rstrip("/")
    return {"allowed": [f"{base}/addin/commands.js"]}
