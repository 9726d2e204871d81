"""The domain of Baodao: models, workflow definitions, the engine on `transitions`,
and the services that own every transaction.

Nothing here reads a Flask request: the package is driven the same way from the JSON
API, the pages, the command line and the tests.
"""
