# The interpreter: Interpreter(model) reads and checks a .tflite model, prepares every
# operator and plans the arena (loader.py); invoke() runs the prepared steps and
# allocates nothing.
from .errors import ModelError


class Interpreter:
    def __init__(self, model):
        from . import loader
        try:
            m = loader.Loader(model)
            self._in_details = [loader.details(t) for t in m.inputs]
            self._out_details = [loader.details(t) for t in m.outputs]
        except MemoryError:
            raise ModelError("not enough memory to load the model")
        finally:
            loader.unload()
        self._model = model
        self._inputs = [t.buf for t in m.inputs]
        self._outputs = [t.buf for t in m.outputs]
        self._run = m.steps
        self._arena, self._scratch = m.arena, m.scratch
        self.arena_size = m.arena_size
        self.inputs = len(self._inputs)
        self.outputs = len(self._outputs)

    def input(self, i=0):
        return self._inputs[i]

    def output(self, i=0):
        return self._outputs[i]

    def input_details(self, i=0):
        return self._in_details[i]

    def output_details(self, i=0):
        return self._out_details[i]

    def invoke(self):
        for step in self._run:
            step.run()
