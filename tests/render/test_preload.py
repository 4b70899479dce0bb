"""constructs_lib.render.preload: cdk8s loads on a thread while the main thread imports the rest.

That is safe only while the two threads never import the same module. This records, in a fresh
interpreter, which thread imports each module, and checks it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import ROOT

PROBE = """
import json, sys, threading

class Recorder:
    seen = {}
    def find_spec(self, name, path=None, target=None):
        self.seen.setdefault(name, set()).add(threading.current_thread().name)
        return None  # only watching: the normal finders import the module

sys.meta_path.insert(0, Recorder())
import constructs_lib.render.preload
for thread in threading.enumerate():
    if thread.name in ("cdk8s-preload", "schema-preload"):
        thread.join()
import cdk8s
print(json.dumps({name: sorted(threads) for name, threads in Recorder.seen.items()}))
"""


def test_the_preload_thread_imports_only_cdk8s_and_constructs() -> None:
    result = subprocess.run(
        [sys.executable, "-O", "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        capture_output=True,
        text=True,
        check=True,
    )
    seen: dict[str, list[str]] = json.loads(result.stdout)
    on_thread = {name for name, threads in seen.items() if "cdk8s-preload" in threads}
    assert "cdk8s" in on_thread, "cdk8s is imported on the thread, not on the main thread"
    assert {name.split(".")[0] for name in on_thread} == {"cdk8s", "constructs"}, (
        "cdk8s imports a new dependency on the thread: import it in preload.py before the thread"
    )
    warming = sorted(name for name, threads in seen.items() if "schema-preload" in threads)
    assert warming == [], f"the schema-preload thread imports {warming}: import them first"
    both = sorted(name for name in on_thread if len(seen[name]) > 1)
    assert both == [], f"imported on both threads: {both}"
    assert (
        "constructs_lib.model.config" in seen
        and "MainThread" in seen["constructs_lib.model.config"]
    )
