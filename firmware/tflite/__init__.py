# A pure-MicroPython int8 TFLite interpreter, bit-exact with TensorFlow Lite Micro.
# See README.md in this folder.
from .errors import ModelError
from .interpreter import Interpreter
