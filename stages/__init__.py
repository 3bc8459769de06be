"""The pipeline's stages, each run by DVC as `python -m stages.NAME`."""

import sys

if sys.argv[:1] == ["-m"]:  # run as a stage, not imported by a test: Ctrl+C during its imports is one line
    from mlkit.core.errors import exit_on_interrupt

    exit_on_interrupt()
