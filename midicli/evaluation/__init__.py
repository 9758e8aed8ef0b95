"""Measuring text control: does the music a model writes do what its caption asked?

``metrics`` holds the pure figures (one piece against one request, then a column of
them); ``prompts`` reads a prompt set; ``runner`` generates and scores the columns
that ``midicli eval`` prints side by side.
"""
