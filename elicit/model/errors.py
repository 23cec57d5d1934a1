"""The error every model-resolution step raises: a model that cannot be found, built or verified."""


class ModelError(RuntimeError):
    """A model could not be found, built or verified; the message says which and what to run."""
