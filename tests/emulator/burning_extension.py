#!/usr/bin/env python3
"""An external extension, stdlib only, that burns BURN_INIT_MS of CPU during init, then waits for SHUTDOWN."""

import json
import os
import sys
import time
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension"


def main() -> None:
    body = json.dumps({"events": ["SHUTDOWN"]}).encode()
    headers = {"Lambda-Extension-Name": os.path.basename(sys.argv[0])}
    request = urllib.request.Request(API + "/register", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request) as response:
        ident = {"Lambda-Extension-Identifier": response.headers["Lambda-Extension-Identifier"]}
    end = time.process_time() + int(os.environ.get("BURN_INIT_MS", "0")) / 1000
    while time.process_time() < end:
        pass
    with urllib.request.urlopen(urllib.request.Request(API + "/event/next", headers=ident)) as response:
        response.read()  # SHUTDOWN: the only event registered for


if __name__ == "__main__":
    main()
