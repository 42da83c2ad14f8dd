"""click-enricher: the Firehose data-transformation Lambda that adds catalog facts to profile clicks.

Entry point: `enricher.handler.handler`. See README.md for the event/response contract.
"""

SERVICE_NAME = "click-enricher"
