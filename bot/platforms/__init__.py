"""Coordo's outbound side of the chat platforms: the ``ChatPort`` and its clients."""
