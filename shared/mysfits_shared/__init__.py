"""Code shared by the Mythical Mysfits services: models, schemas, settings, errors, tracing."""
