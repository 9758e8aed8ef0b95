"""System prompts and example prompt sets; installed with the package as ``midicli.prompts``."""
