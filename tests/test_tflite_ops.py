"""Property tests: generated models for every operator and option, quantized by a real
quantizer (or written as int8 graphs directly), run in the firmware interpreter on
MicroPython and in TFLM. Every output must be identical.

Models are checked in batches, one MicroPython process per batch, to keep the suite fast.
TFLITE_PROPERTY_BATCHES=50 runs more batches per operator family (default 2).
"""

import faulthandler
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tflite_cases
from host import model_check

BATCH = 12
BATCHES = int(os.environ.get("TFLITE_PROPERTY_BATCHES", "2"))


def tflm_loads(model):
    """Whether TFLM accepts the model. Tried in a forked child: some of TFLM's checks
    abort the process instead of returning an error."""
    pid = os.fork()
    if pid == 0:
        faulthandler.disable()   # an abort here is an answer, not a crash to report
        try:
            model_check.tflm(model)
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def assert_bit_exact(specs):
    jobs = [tflite_cases.build(spec) for spec in specs]
    results = model_check.run_firmware(jobs)
    for spec, (model, samples), result in zip(specs, jobs, results):
        # TFLM refuses some generated models (e.g. a fused RELU6 whose bound overflows
        # int32 at a tiny output scale): the firmware must refuse the same ones.
        loads = tflm_loads(model)
        assert ("error" not in result) == loads, (spec, result.get("error"))
        if not loads:
            continue
        interp = model_check.tflm(model)
        for k, sample in enumerate(samples):
            expected = model_check.run_tflm(model, sample, interp)
            for got, want in zip(result["outputs"][k], expected):
                assert got.dtype == want.dtype and got.shape == want.shape, spec
                if not np.array_equal(got, want):
                    pytest.fail("outputs differ from TFLM for %s, sample %d:\n"
                                "firmware %s\nTFLM     %s" % (spec, k, got.ravel(), want.ravel()))


@pytest.mark.parametrize("family", sorted(tflite_cases.STRATEGIES))
def test_generated_models_are_bit_exact_with_tflm(micropython, family):
    @settings(max_examples=BATCHES, deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(tflite_cases.STRATEGIES[family], min_size=BATCH, max_size=BATCH))
    def check(specs):
        assert_bit_exact(specs)

    check()
