"""Patron: a CRM that joins what customers do with what they say."""
