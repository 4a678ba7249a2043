"""The ground floor: database, errors, text, languages, wire names, configuration,
limits, and what an event is. Imports nothing else of the project."""
