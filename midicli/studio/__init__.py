"""The studio: the compose–listen–edit–choose loop as one interactive session that
keeps the model loaded (``midicli studio``), and editing notes and descriptions in
the user's $EDITOR."""
