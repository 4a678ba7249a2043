"""The workshop's things and the rules that change them: SQLAlchemy models and
functions that take a Session, flush and return events, never commit."""
