"""Run a .tflite model in the reference interpreters: TFLM (the oracle) and LiteRT."""

import numpy as np

# TFLM sizes its arena up front; this is plenty for every model the toaster can hold.
TFLM_ARENA = 4 << 20


def tflm(model):
    """A TFLM interpreter (the reference kernels of the tflite-micro wheel) for model bytes."""
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(bytes(model), arena_size=TFLM_ARENA)


def run_tflm(model, inputs, interpreter=None):
    """Outputs (numpy arrays) of one TFLM invoke with `inputs`, one array per model input."""
    it = interpreter or tflm(model)
    for i, x in enumerate(inputs):
        it.set_input(np.asarray(x), i)
    it.invoke()
    return [np.array(it.get_output(i)) for i in range(_output_count(model))]


def _output_count(model):
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema.Model.GetRootAsModel(bytes(model), 0).Subgraphs(0).OutputsLength()


def litert(model):
    """A LiteRT interpreter for model bytes (raises if LiteRT cannot load the model)."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=bytes(model))
    it.allocate_tensors()
    return it


def run_litert(model, inputs, interpreter=None):
    it = interpreter or litert(model)
    for detail, x in zip(it.get_input_details(), inputs):
        it.set_tensor(detail["index"], np.asarray(x, detail["dtype"]).reshape(detail["shape"]))
    it.invoke()
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]
