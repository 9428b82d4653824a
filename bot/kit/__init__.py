"""What every chat adapter needs, written once: the runner with its ack budget and its one
pool (``runner``), the person directory with its one policy when a look-up fails
(``directory``), request keys (``keys``), an inbound command to an ``Invocation``
(``inbound``), a ``Reply`` delivered by the platform's declared capabilities
(``delivery``), and the text fallback for buttons (``choices``).

A platform package (``bot.matrix`` today; Slack and Mattermost next) keeps only its
transport, authentication, wire format and renderer.
"""
