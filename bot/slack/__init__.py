"""Coordo on Slack: the Bolt app (``app``), the Web API client behind the outbox
(``client``) and the Block Kit renderer (``render``)."""
