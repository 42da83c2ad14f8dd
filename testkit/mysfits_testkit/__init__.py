"""Builders and fakes shared by the Mythical Mysfits tests and the benchmark; fixtures stay in conftest.py.

- `identity`: a Cognito user pool on moto and its visitors' real tokens, forged tokens, auth headers;
- `invocation`: what a Lambda invocation of the enricher gets: a Firehose transformation event
  (built, or one of the stored ones), and the Lambda stand-in's context;
- `catalog`: the catalog faked for the enricher (a client, or an app over HTTP), and a server that
  serves any catalog app on a free port, counting requests and failing on demand;
- `mysfits`: numbered mysfits for the services' tables;
- `xray`: one request's X-Ray trace documents (gateway, service, DynamoDB call), put into an X-Ray;
- `browser`: Playwright pages that fail on a JavaScript error, and a visitor's ways into the site.
"""
