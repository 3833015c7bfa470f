"""The model side of grading: plain data in, plain data out.

Nothing in this package imports Django. The Django side turns rows into the dataclasses of
`grading.llm.types`, asks a backend for a `Generation`, and parses the answer with
`grading.llm.schema.parse_answer`.
"""
