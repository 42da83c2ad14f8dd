"""Code shared by the Mythical Mysfits units: settings, models, schemas, ids, auth, errors, tracing, web."""
