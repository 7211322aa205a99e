"""The API's OpenAPI 3.1 description, built from one table of operations, and its
reference page. `tests/views/test_api.py` checks the table against the routes
of views/api.py and real answers against the schemas."""
from flask import Blueprint, jsonify
from flask_login import login_required

from .api import bp as api_bp
from models.schema import N_

from .common import render

bp = Blueprint("openapi", __name__)


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


STRING = {"type": "string"}
NULLABLE_ID = {"type": ["integer", "null"]}
STAMP = {"type": ["string", "null"], "format": "date-time"}


def obj(properties, required=None):
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required,
            "additionalProperties": False}


COMPANY_TEXT = ("name", "phone", "email", "website", "city", "country")
CONTACT_TEXT = ("first_name", "last_name", "title", "email", "phone", "utm_source",
                "utm_medium", "utm_campaign", "utm_term", "utm_content")

SCHEMAS = {
    "Error": obj({"error": obj({"code": STRING, "message": STRING,
                                "field": {"type": ["string", "null"]}})}),
    "Company": obj({"id": {"type": "integer"}, **{name: STRING for name in COMPANY_TEXT},
                    "category_id": {"type": "integer"}, "owner_id": NULLABLE_ID,
                    "created_at": STAMP, "updated_at": STAMP, "version": {"type": "integer"}}),
    "CompanyInput": obj({**{name: STRING for name in COMPANY_TEXT},
                         "category_id": {"type": "integer"}, "owner_id": NULLABLE_ID,
                         "version": {"type": "integer",
                                     "description": "The version last read: 409 if it changed."}},
                        required=[]),
    "Contact": obj({"id": {"type": "integer"}, "company_id": {"type": "integer"},
                    **{name: STRING for name in CONTACT_TEXT}, "owner_id": NULLABLE_ID,
                    "lead_status_id": NULLABLE_ID, "status_changed_at": STAMP,
                    "created_at": STAMP, "updated_at": STAMP, "version": {"type": "integer"}}),
    "ContactInput": obj({**{name: STRING for name in CONTACT_TEXT},
                         "company_id": {"type": "integer"}, "owner_id": NULLABLE_ID,
                         "lead_status_id": {"type": "integer"},
                         "version": {"type": "integer",
                                     "description": "The version last read: 409 if it changed."}},
                        required=[]),
    "Activity": obj({"id": {"type": "integer"}, "contact_id": {"type": "integer"},
                     "company_id": {"type": "integer"},
                     "kind": {"enum": ["note", "call", "meeting", "follow_up"]}, "text": STRING,
                     "due_at": STAMP, "owner_id": NULLABLE_ID, "done_at": STAMP,
                     "done_by_id": NULLABLE_ID, "author_id": NULLABLE_ID,
                     "created_at": STAMP, "updated_at": STAMP}),
    "ActivityInput": obj({"kind": {"enum": ["note", "call", "meeting", "follow_up"]},
                          "text": STRING,
                          "due_at": {"type": ["string", "null"],
                                     "description": "A follow-up's due time, "
                                                    "YYYY-MM-DDTHH:MM (a date alone: 09:00)."},
                          "owner_id": NULLABLE_ID}, required=[]),
    "Done": obj({"done": {"type": "boolean", "description": "false opens it again."}},
                required=[]),
    "Rules": obj({"action": {"enum": ["none", "change", "propose"]},
                  "category_id": NULLABLE_ID, "suggestion_id": NULLABLE_ID}),
    "Sale": obj({"id": {"type": "integer"}, "company_id": {"type": "integer"},
                 "contact_id": NULLABLE_ID, "title": STRING,
                 "amount": {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$"},
                 "currency": STRING, "sale_date": {"type": "string", "format": "date"},
                 "owner_id": NULLABLE_ID, "status": {"enum": ["open", "sold", "lost"]},
                 "created_at": STAMP, "updated_at": STAMP}),
    "SaleInput": obj({"company_id": {"type": "integer"}, "contact_id": NULLABLE_ID,
                      "title": STRING, "amount": {"type": ["string", "number"]},
                      "currency": STRING, "sale_date": {"type": "string", "format": "date"},
                      "owner_id": NULLABLE_ID, "status": {"enum": ["open", "sold", "lost"]}},
                     required=[]),
    "LeadStatus": obj({"id": {"type": "integer"}, "name": STRING, "description": STRING,
                       "sort_order": {"type": "integer"}, "is_initial": {"type": "boolean"},
                       "retired": {"type": "boolean"}}),
    "Category": obj({"id": {"type": "integer"}, "name": STRING, "description": STRING,
                     "group": STRING, "lead_status_active": {"type": "boolean"},
                     "sort_order": {"type": "integer"}, "retired": {"type": "boolean"}}),
    "User": obj({"id": {"type": "integer"}, "name": STRING, "role": STRING,
                 "active": {"type": "boolean"}, "email": STRING},
                required=["id", "name", "role", "active"]),
    "Selection": obj({"id": {"type": "integer"}, "name": STRING,
                      "entity": {"enum": ["contacts", "companies"]},
                      "kind": {"enum": ["dynamic", "static"]}, "shared": {"type": "boolean"},
                      "owner_id": {"type": "integer"},
                      "criteria": {"type": ["object", "null"]}}),
}


def page_of(item):
    return obj({"data": {"type": "array", "items": item},
                "next_after": {"type": ["integer", "null"],
                               "description": "Pass as `after` for the next page; null at the end."}})


def changed_with_rules(name):
    return obj({name.lower(): ref(name), "rules": ref("Rules")})


# (method, path, summary, request body schema, success status, response schema, query)
PAGED = ["after", "limit"]
OPERATIONS = [
    ("get", "/companies", N_("List companies"), None, 200, page_of(ref("Company")),
     PAGED + ["criteria"]),
    ("post", "/companies", N_("Create a company"), "CompanyInput", 201, ref("Company"), []),
    ("get", "/companies/{company_id}", N_("Read a company"), None, 200, ref("Company"), []),
    ("patch", "/companies/{company_id}", N_("Change a company (category_id moves it)"),
     "CompanyInput", 200, ref("Company"), []),
    ("delete", "/companies/{company_id}", N_("Delete a company with its contacts (restorable "
                                             "for 30 days)"), None, 204, None, []),
    ("get", "/contacts", N_("List contacts"), None, 200, page_of(ref("Contact")),
     PAGED + ["criteria"]),
    ("post", "/contacts", N_("Create a contact"), "ContactInput", 201, ref("Contact"), []),
    ("get", "/contacts/{contact_id}", N_("Read a contact"), None, 200, ref("Contact"), []),
    ("patch", "/contacts/{contact_id}", N_("Change a contact, its owner or lead status"),
     "ContactInput", 200, changed_with_rules("Contact"), []),
    ("delete", "/contacts/{contact_id}", N_("Delete a contact (restorable for 30 days)"), None,
     204, None, []),
    ("get", "/contacts/{contact_id}/activities", N_("List a contact's activities"), None, 200,
     page_of(ref("Activity")), PAGED),
    ("post", "/contacts/{contact_id}/activities", N_("Record a note, call, meeting or "
                                                     "follow-up"), "ActivityInput", 201,
     ref("Activity"), []),
    ("get", "/activities/{activity_id}", N_("Read an activity"), None, 200, ref("Activity"), []),
    ("patch", "/activities/{activity_id}", N_("Change an activity"), "ActivityInput", 200,
     ref("Activity"), []),
    ("post", "/activities/{activity_id}/complete", N_("Mark a follow-up done or open again"),
     "Done", 200, ref("Activity"), []),
    ("delete", "/activities/{activity_id}", N_("Delete an activity"), None, 204, None, []),
    ("get", "/sales", N_("List sales"), None, 200, page_of(ref("Sale")), PAGED + ["company_id"]),
    ("post", "/sales", N_("Register a sale"), "SaleInput", 201, changed_with_rules("Sale"), []),
    ("get", "/sales/{sale_id}", N_("Read a sale"), None, 200, ref("Sale"), []),
    ("patch", "/sales/{sale_id}", N_("Change a sale or mark it sold or lost"), "SaleInput", 200,
     changed_with_rules("Sale"), []),
    ("get", "/lead-statuses", N_("List lead statuses"), None, 200, page_of(ref("LeadStatus")), PAGED),
    ("get", "/categories", N_("List company categories"), None, 200, page_of(ref("Category")),
     PAGED),
    ("get", "/users", N_("List users"), None, 200, page_of(ref("User")), PAGED),
    ("get", "/selections", N_("List selections"), None, 200, page_of(ref("Selection")), PAGED),
    ("get", "/selections/{selection_id}", N_("Read a selection"), None, 200, ref("Selection"), []),
    ("get", "/selections/{selection_id}/items", N_("What a selection holds now"), None, 200,
     page_of({"oneOf": [ref("Contact"), ref("Company")]}), PAGED),
    ("get", "/openapi.json", N_("This description"), None, 200, {"type": "object"}, []),
]
QUERY = {
    "after": ("integer", N_("Only records with a greater id (the previous page's next_after).")),
    "limit": ("integer", N_("Records per page, 1 to 200 (50).")),
    "criteria": ("string", N_("Search conditions as a JSON list, as the Search screen stores "
                              "them.")),
    "company_id": ("integer", N_("Only this company's sales.")),
}
ERRORS = {"400": "Malformed request", "401": "No valid token", "403": "Not allowed",
          "404": "Not found", "409": "Changed meanwhile, or refused by a rule",
          "413": "Body too large", "422": "Invalid field", "429": "Too many requests"}


VERSIONED = ("/companies/{company_id}", "/contacts/{contact_id}")


def document():
    """The OpenAPI 3.1 document of /api/v1/."""
    paths = {}
    for method, path, summary, body, status, response, query in OPERATIONS:
        success = {"description": "OK"}
        if response is not None:
            success["content"] = {"application/json": {"schema": response}}
        operation = {"summary": summary, "responses": {
            str(status): success,
            **{code: {"description": text,
                      "content": {"application/json": {"schema": ref("Error")}}}
               for code, text in ERRORS.items()}}}
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer"}}
                      for name in (part[1:-1] for part in path.split("/")
                                   if part.startswith("{"))]
        parameters += [{"name": name, "in": "query", "required": False,
                        "description": QUERY[name][1], "schema": {"type": QUERY[name][0]}}
                       for name in query]
        if method in ("patch", "delete") and path in VERSIONED:
            parameters.append({"name": "If-Match", "in": "header", "required": False,
                               "description": "The version last read (the ETag of a GET): "
                                              "409 if the record changed since.",
                               "schema": {"type": "string"}})
        if parameters:
            operation["parameters"] = parameters
        if body:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": ref(body)}}}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tavla API", "version": "1",
                 "description": "Companies, contacts, activities, sales, lists, selections "
                                "and users. "
                                "Writes obey the same rules and rights as the app."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer",
                      "description": "A token from the API tokens page or "
                                     "`flask --app app api-token EMAIL NAME`."}}},
    }


@api_bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(document())


@bp.get("/api-reference")
@login_required
def reference():
    """The API's operations as a page, from the same table as the OpenAPI document."""
    return render("openapi/reference.html", operations=OPERATIONS, query=QUERY)
