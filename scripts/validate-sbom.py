#!/usr/bin/env python3
"""Validate an imgscan SBOM with its format's own validator.

    validate-sbom.py cyclonedx FILE   # CycloneDX 1.6 JSON
    validate-sbom.py spdx FILE        # SPDX 2.3 JSON

CycloneDX is checked against the 1.6 JSON schema in strict mode by
cyclonedx-python-lib, then for what a schema cannot say: every bom-ref is
unique and every dependency ref names one. SPDX is parsed and validated by
spdx-tools, the SPDX project's own library (what `pyspdxtools -i FILE` runs).

Needs: pip install 'cyclonedx-python-lib[json-validation]' spdx-tools

Exit status: 0 valid, 1 invalid (each error on stderr), 2 usage error or a
validator that is not installed.
"""

import json
import sys


def fail_missing(what, error):
    print(f"validate-sbom: {what} is not installed ({error}); "
          "pip install 'cyclonedx-python-lib[json-validation]' spdx-tools",
          file=sys.stderr)
    sys.exit(2)


def cyclonedx_errors(path):
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError as error:
        fail_missing("cyclonedx-python-lib", error)
    with open(path, encoding="utf-8") as file:
        text = file.read()
    document = json.loads(text)
    errors = []
    if document.get("specVersion") != "1.6":
        errors.append(f"specVersion is {document.get('specVersion')!r}, expected '1.6'")
    found = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    for error in found or []:
        data = error.data
        where = "/".join(str(p) for p in getattr(data, "absolute_path", []))
        errors.append(f"schema: {getattr(data, 'message', data)} (at /{where})")

    refs = []
    component = document.get("metadata", {}).get("component")
    stack = ([component] if component else []) + list(document.get("components", []))
    while stack:
        item = stack.pop()
        if "bom-ref" in item:
            refs.append(item["bom-ref"])
        stack.extend(item.get("components", []))
    known = set(refs)
    if len(known) != len(refs):
        seen = set()
        duplicates = sorted({r for r in refs if r in seen or seen.add(r)})
        errors.append(f"bom-refs are not unique: {duplicates}")
    for dependency in document.get("dependencies", []):
        for ref in [dependency["ref"]] + dependency.get("dependsOn", []):
            if ref not in known:
                errors.append(f"dependency ref {ref!r} names no component")
    return errors


def spdx_errors(path):
    try:
        from spdx_tools.spdx.parser.error import SPDXParsingError
        from spdx_tools.spdx.parser.json import json_parser
        from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
    except ImportError as error:
        fail_missing("spdx-tools", error)
    try:
        document = json_parser.parse_from_file(path)
    except SPDXParsingError as error:
        return [f"parse: {message}" for message in error.get_messages()]
    errors = []
    if document.creation_info.spdx_version != "SPDX-2.3":
        errors.append(f"spdxVersion is {document.creation_info.spdx_version!r}, expected 'SPDX-2.3'")
    for message in validate_full_spdx_document(document, "SPDX-2.3"):
        context = message.context
        where = context.spdx_id or context.parent_id or ""
        errors.append(f"{message.validation_message} ({where})" if where else message.validation_message)
    return errors


def main(argv):
    checks = {"cyclonedx": cyclonedx_errors, "cyclonedx-json": cyclonedx_errors,
              "spdx": spdx_errors, "spdx-json": spdx_errors}
    if len(argv) != 3 or argv[1] not in checks:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        errors = checks[argv[1]](argv[2])
    except (OSError, ValueError) as error:
        errors = [f"cannot read {argv[2]}: {error}"]
    for error in errors:
        print(f"{argv[2]}: {error}", file=sys.stderr)
    if errors:
        print(f"{argv[2]}: invalid {argv[1]} ({len(errors)} errors)", file=sys.stderr)
        return 1
    print(f"{argv[2]}: valid {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
