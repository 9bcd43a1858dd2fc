"""Ripcord through OpenFeature's official Python OFREP provider, for the integration test.

Usage: ofrep_client.py BASE_URL FLAGS_JSON, with the token in RIPCORD_TOKEN. FLAGS_JSON names the
flags: {"boolean", "string", "integer", "float", "object", "unknown", "killed"}. Prints one JSON line
of results, then waits for a line on stdin (the test kills a flag meanwhile) and prints the killed
flag as seen then, with the same client.
"""

import json
import os
import sys

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext


def details(result):
    return {
        "value": result.value,
        "reason": result.reason,
        "variant": result.variant,
        "errorCode": result.error_code.value if result.error_code else None,
        "errorMessage": result.error_message,
    }


def main():
    base_url, flags = sys.argv[1], json.loads(sys.argv[2])
    token = os.environ["RIPCORD_TOKEN"]
    api.set_provider(OFREPProvider(base_url, headers_factory=lambda: {"Authorization": f"Bearer {token}"}, timeout=5.0))
    client = api.get_client()
    context = EvaluationContext(targeting_key="python-user-1", attributes={"plan": "pro"})

    results = {
        "provider": api.get_provider_metadata().name,
        "boolean": details(client.get_boolean_details(flags["boolean"], False, context)),
        "string": details(client.get_string_details(flags["string"], "fallback", context)),
        "integer": details(client.get_integer_details(flags["integer"], -1, context)),
        "float": details(client.get_float_details(flags["float"], -1.0, context)),
        "object": details(client.get_object_details(flags["object"], {}, context)),
        "unknown": details(client.get_boolean_details(flags["unknown"], True, context)),
        # A boolean flag read as a string: the provider's type check.
        "mismatch": details(client.get_string_details(flags["boolean"], "fallback", context)),
        "beforeKill": details(client.get_boolean_details(flags["killed"], False, context)),
    }
    print(json.dumps(results), flush=True)
    sys.stdin.readline()
    print(json.dumps({"afterKill": details(client.get_boolean_details(flags["killed"], False, context))}), flush=True)


if __name__ == "__main__":
    main()
