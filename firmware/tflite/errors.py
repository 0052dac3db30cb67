# The one error the interpreter raises for a model it cannot run: malformed, truncated or
# hostile files, unsupported ops or types, inconsistent shapes or quantization, not enough
# memory. Raised by Interpreter(...) only, never by invoke().


class ModelError(ValueError):
    pass
