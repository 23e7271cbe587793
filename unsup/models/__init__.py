"""Model families. Each module registers its classes with :func:`unsup.models.base.register`."""

from unsup.models.base import MODEL_KINDS, Model, get_model_class, register

__all__ = ["MODEL_KINDS", "Model", "get_model_class", "register"]
