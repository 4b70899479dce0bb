"""Start the cdk8s runtime in the background while Python imports the rest of the synth.

cdk8s runs in a Node.js process (the jsii runtime) that Python starts on the first import of
`cdk8s`, and then waits about 0.4 s for. app.py imports this module first: a thread imports
cdk8s, and while it waits for Node.js, this thread imports the modules of the synth that do
not need cdk8s (the pydantic config model, loading, rendering, overlays). That takes about a
quarter of a second off every synth, and off the start of every worker process.

It is safe because the two threads never import the same module: the thread imports only the
cdk8s and constructs packages (their dependencies are imported below, first), and nothing
imported on this thread imports cdk8s. A later `import cdk8s` anywhere waits for the thread's
import to finish (Python's import lock). If the thread's import fails, the next `import cdk8s`
raises the error, exactly as without this module.
"""

from __future__ import annotations

import pkgutil  # noqa: F401  (imported by cdk8s and constructs: here, before the thread)
import threading

import jsii
import jsii._type_checking  # noqa: F401
import publication  # noqa: F401
import typing_extensions  # noqa: F401


def _import_cdk8s() -> None:
    try:
        import cdk8s  # noqa: F401
    except BaseException:  # raised again by the next `import cdk8s`
        pass


threading.Thread(target=_import_cdk8s, name="cdk8s-preload", daemon=True).start()

# Meanwhile, on this thread: what app.py needs that does not import cdk8s.
import constructs_lib.model.versions  # noqa: E402
import constructs_lib.render.overlays  # noqa: E402
import constructs_lib.render.schema_check  # noqa: E402
import constructs_lib.render.synth  # noqa: E402

# The schema check's setup (the Kubernetes definitions and the CRDs of the custom resources
# every environment has: about 0.3 s) runs on a thread too, while the synth waits for Node.js.
threading.Thread(
    target=constructs_lib.render.schema_check.warm,
    args=(("Application", "AppProject", "ClusterIssuer", "SecretProviderClass"),),
    name="schema-preload",
    daemon=True,
).start()
