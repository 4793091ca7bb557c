"""`signage-fleet` (CONTRACT §9): the city's side of the contract. It ingests what boards
publish into a database, serves the operations room a web page and a JSON API (board
grid, board pages, alert reach), and publishes content, alerts and commands.

Nothing under `agent/` imports this package: a board never loads FastAPI or SQLAlchemy.
"""
