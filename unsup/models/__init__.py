"""Model families. Each module registers its classes with :func:`unsup.models.base.register`.

Nothing is imported here eagerly: pages that need no torch (the topic maps) must not pay for it.
"""
