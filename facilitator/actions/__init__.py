"""The one pipeline every client action goes through (:mod:`.pipeline`), and one
module of actions per tool; :mod:`.catalogue` registers them all."""
