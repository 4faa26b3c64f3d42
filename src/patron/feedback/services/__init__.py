"""Writes of feedback, one module per topic (nothing is imported here: import the topic module).

Each function validates, writes in one transaction and raises a ValidationError subclass with a
translated message for bad input. Emails are sent by the worker: the send task is stored in the
same transaction as the records it sends, so it is never lost and never sent for a rolled-back write.
"""
