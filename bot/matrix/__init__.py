"""Coordo on Matrix and Tchap: the connector (sync, text commands, replies in threads,
reactions as buttons), its outbox port, and its renderer."""
