"""Schemathesis hooks for the API fuzz tests (api-fuzz.ts) (loaded through the run's config file).

Every generated webhook URL is replaced by a closed port on loopback before the request is sent:
otherwise the worker would try to deliver the run's changes to generated host names, traffic that
must never leave this machine. The rest of each webhook request is fuzzed as generated.
"""

import schemathesis

LOOPBACK_WEBHOOK = "http://127.0.0.1:9/hook"


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path.startswith("/api/v1/webhooks") and isinstance(case.body, dict) and "url" in case.body:
        case.body["url"] = LOOPBACK_WEBHOOK
