"""How many CPU threads torch uses while a detector trains.

The detectors are small networks trained on batches of a few dozen embeddings: each step's
matrix products are too small to split across cores, and a second thread only adds hand-offs.
Measured with ``bench/bench_train.py --threads 2,1`` (cross-fitted AEwRES, 392 real 1024-d
HTS-AT embeddings, 2-core machine): 2 threads 155 s, 1 thread 139 s (1.11x) in one run; a first
scratch run gave 271 s vs 177 s, and with the window open (bench_gui_stall, clap-fused, 400
files) the train stage took ~237 s on 2 threads vs ~130 s on 1. So training runs on one
thread, whatever the encoder uses, and the encoder's count is put back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

TRAINING_THREADS = 1


@contextmanager
def training_threads(device: torch.device, count: int | None = None) -> Iterator[None]:
    """Run the body with at most ``count`` (default ``TRAINING_THREADS``) torch CPU threads
    (CPU devices only), then restore the calling thread's previous count (unless something
    else changed it meanwhile)."""
    count = TRAINING_THREADS if count is None else count
    before = torch.get_num_threads()
    if device.type != "cpu" or before <= count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() == count:
            torch.set_num_threads(before)
