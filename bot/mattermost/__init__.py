"""Coordo on Mattermost: the web app for slash commands, buttons and dialogs (``app``),
the REST client behind the outbox (``client``) and the post renderer (``render``)."""
