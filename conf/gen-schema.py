#!/usr/bin/env python3
"""Regenerates conf/<model>.schema.json from a Runware model's OpenAPI document.

Keeps an OpenAPI document that rw_schema_load() understands: "openapi", the model's ids from
"info", and components.schemas.RequestBody with every schema it references, stripped of prose
(title, description, examples, $comment). Property names are never touched, whatever they are
called. Numbers are written as the source writes them.

    conf/gen-schema.py /work/shared/spec/flux-1-dev-srpo.openapi.json \
        > conf/flux-1-dev-srpo.schema.json
    conf/gen-schema.py --check SPEC conf/flux-1-dev-srpo.schema.json   # exit 1 when stale
"""
import hashlib
import json
import sys

PROSE = {"title", "description", "examples", "$comment"}
NAME_MAPS = {"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"}
SUBSCHEMA = {"items", "additionalProperties", "not", "if", "then", "else", "contains",
             "propertyNames", "additionalItems", "unevaluatedProperties", "unevaluatedItems"}
SUBSCHEMA_LISTS = {"allOf", "anyOf", "oneOf", "prefixItems"}
INFO_KEYS = ("title", "version", "x-model-id", "x-air-id")


def strip(schema):
    """A schema without its prose; values of const/enum/default are kept verbatim."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, val in schema.items():
        if key in PROSE:
            continue
        if key in NAME_MAPS and isinstance(val, dict):
            out[key] = {name: strip(sub) for name, sub in val.items()}
        elif key in SUBSCHEMA:
            out[key] = strip(val)
        elif key in SUBSCHEMA_LISTS and isinstance(val, list):
            out[key] = [strip(sub) for sub in val]
        else:
            out[key] = val
    return out


def refs(node, found):
    """Collects the local component names node refers to."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref[len("#/components/schemas/"):].split("/")[0])
        for val in node.values():
            refs(val, found)
    elif isinstance(node, list):
        for val in node:
            refs(val, found)


def generate(src_path):
    with open(src_path, "rb") as f:
        raw = f.read()
    doc = json.loads(raw)
    schemas = doc["components"]["schemas"]
    keep, todo = set(), ["RequestBody"]
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        found = set()
        refs(schemas[name], found)
        todo.extend(sorted(found - keep))
    info = {k: doc["info"][k] for k in INFO_KEYS if k in doc.get("info", {})}
    info["x-generated-by"] = "conf/gen-schema.py"
    info["x-source-sha256"] = hashlib.sha256(raw).hexdigest()
    out = {
        "openapi": doc["openapi"],
        "info": info,
        "components": {"schemas": {n: strip(schemas[n]) for n in schemas if n in keep}},
    }
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    if len(argv) == 2:
        sys.stdout.write(generate(argv[1]))
        return 0
    if len(argv) == 4 and argv[1] == "--check":
        with open(argv[3], encoding="utf-8") as f:
            current = f.read()
        if current != generate(argv[2]):
            sys.stderr.write(f"{argv[3]} is stale: regenerate it from {argv[2]}\n")
            return 1
        return 0
    sys.stderr.write("usage: gen-schema.py SPEC > OUT | gen-schema.py --check SPEC OUT\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
