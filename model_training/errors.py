"""The one error type of model_training: bad data, a bad package or a failed check, with a
message meant for the user (the `toaster` commands print it as one line)."""


class DataError(ValueError):
    pass
