"""Drives OpenFeature's flagd provider (Python, in-process mode) for test/integration/flagd-sync.test.ts.

One JSON command per line on stdin, one JSON answer per line on stdout:
  {"op": "offline", "cases": [{"key", "type", "document", "context", "now"}]}
      evaluates each case with flagd's own evaluator (openfeature-flagd-core) on the given document,
      with flagd's clock ($flagd.timestamp) set to `now` (epoch seconds)
  {"op": "connect", "host", "port", "token", "selector"?}
      an in-process FlagdProvider syncing from the gRPC FlagSyncService, the token sent as
      `authorization: Bearer` call credentials (over a local, plaintext connection)
  {"op": "file", "path"}
      an in-process FlagdProvider reading a flag definition file (resolver FILE), as flagd's own
      file source does (test/integration/import-real-tools.test.ts)
  {"op": "evaluate", "items": [{"key", "type", "context"}]}  through the OpenFeature client
  {"op": "wait", "key", "type", "context", "value", "timeout_ms"}
      polls the client every 2 ms until the flag serves `value`; answers when it first did (epoch ms)
"""

import json
import sys
import time

import grpc
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import OpenFeatureError

# flagd's targeting module reads the evaluation time from time.time(); "offline" pins it per case.
targeting_module = sys.modules["openfeature.contrib.tools.flagd.core.targeting.targeting"]


class PinnedClock:
    def __init__(self, seconds):
        self.seconds = seconds

    def time(self):
        return self.seconds


DEFAULTS = {"boolean": False, "string": "", "number": 0.0, "json": {}}


def context_of(raw):
    attributes = dict(raw or {})
    targeting_key = attributes.pop("targetingKey", None)
    return EvaluationContext(targeting_key=targeting_key, attributes=attributes)


def core_answer(core, key, flag_type, context):
    resolve = {
        "boolean": core.resolve_boolean_value,
        "string": core.resolve_string_value,
        "number": core.resolve_float_value,
        "json": core.resolve_object_value,
    }[flag_type]
    try:
        details = resolve(key, DEFAULTS[flag_type], context)
    except OpenFeatureError as error:
        return {"reason": "ERROR", "errorCode": str(error.error_code.value)}
    reason = details.reason.value if hasattr(details.reason, "value") else details.reason
    return {"value": details.value, "variant": details.variant, "reason": reason}


def client_answer(client, key, flag_type, context):
    get = {
        "boolean": client.get_boolean_details,
        "string": client.get_string_details,
        "number": client.get_float_details,
        "json": client.get_object_details,
    }[flag_type]
    details = get(key, DEFAULTS[flag_type], context)
    reason = details.reason.value if hasattr(details.reason, "value") else details.reason
    if details.error_code is not None:
        return {"reason": "ERROR", "errorCode": str(details.error_code.value)}
    return {"value": details.value, "variant": details.variant, "reason": reason}


def offline(command):
    answers = []
    real_time = targeting_module.time
    try:
        for case in command["cases"]:
            core = FlagdCore()
            core.set_flags(case["document"])
            targeting_module.time = PinnedClock(case["now"])
            answers.append(core_answer(core, case["key"], case["type"], context_of(case["context"])))
    finally:
        targeting_module.time = real_time
    return {"answers": answers}


def main():
    client = None
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "offline":
            answer = offline(command)
        elif op == "connect":
            credentials = grpc.composite_channel_credentials(
                grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
                grpc.access_token_call_credentials(command["token"]),
            )
            provider = FlagdProvider(
                resolver_type=ResolverType.IN_PROCESS,
                host=command["host"],
                port=command["port"],
                selector=command.get("selector"),
                channel_credentials=credentials,
                deadline_ms=10_000,
            )
            # Blocks until the first document has synced (or the provider's deadline_ms passes).
            api.set_provider_and_wait(provider)
            client = api.get_client()
            answer = {"connected": client.get_provider_status().value == "READY"}
        elif op == "file":
            provider = FlagdProvider(
                resolver_type=ResolverType.FILE,
                offline_flag_source_path=command["path"],
                deadline_ms=10_000,
            )
            api.set_provider_and_wait(provider)
            client = api.get_client()
            answer = {"connected": client.get_provider_status().value == "READY"}
        elif op == "evaluate":
            answer = {
                "answers": [
                    client_answer(client, item["key"], item["type"], context_of(item["context"]))
                    for item in command["items"]
                ]
            }
        elif op == "wait":
            context = context_of(command["context"])
            deadline = time.monotonic() + command["timeout_ms"] / 1000
            seen, seen_at_ms = None, None
            while time.monotonic() < deadline:
                seen = client_answer(client, command["key"], command["type"], context)
                if seen.get("value") == command["value"]:
                    seen_at_ms = time.time() * 1000
                    break
                time.sleep(0.002)
            answer = {"seen_at_ms": seen_at_ms, "last": seen}
        else:
            answer = {"error": f"unknown op {op}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    api.shutdown()


if __name__ == "__main__":
    main()
