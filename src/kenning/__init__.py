"""Kenning: private, self-hosted recognition for personal media libraries."""

import os

# ONNX Runtime (1.29 and later) sends usage telemetry to Microsoft from Linux too, and
# keeps a device id and an event cache under ~/.cache/Microsoft. Nothing may leave the
# user's machine, so it is switched off before ONNX Runtime is first loaded; the variable
# also reaches every process Kenning starts (workers, decoders). Both spellings are read
# by some release.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ["ORT_TELEMETRY_DISABLED"] = "1"

# One BLAS thread per caller: Kenning runs its own threads and processes, and OpenBLAS's
# spinning pool on top of them only oversubscribes the cores.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

__version__ = "0.1.0"
