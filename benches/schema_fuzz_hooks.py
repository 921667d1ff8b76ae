"""schemathesis hooks for benches/schema_fuzz.sh: what counts as a failure beyond a 5xx."""

import schemathesis


@schemathesis.check
def no_internal_error(ctx, response, case):
    """An answer may refuse the input (validation, FORBIDDEN, NOT_FOUND, ...), but never
    with a 5xx or INTERNAL, and never without a code: those are faults of ours, whatever the
    client sent. (schemathesis' own not_a_server_error also fails every GraphQL error that is
    not a validation error, such as NOT_FOUND, which our contract answers by design.)"""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL":
            raise AssertionError(f"INTERNAL error: {error.get('message')}")
        if code is None:
            raise AssertionError(f"an error without extensions.code: {error}")
    return None
