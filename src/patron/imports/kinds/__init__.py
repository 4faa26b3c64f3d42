"""What each kind of import does with a batch of parsed rows, one module per kind.

A batch arrives as ``Row`` objects whose cells are already parsed into field values. The
importer resolves references in bulk (customers by external id, users by username, branches by
code, products by SKU), fetches the records the rows name (one query per table), decides for each
row whether it creates, updates or leaves a record unchanged, and writes in bulk (one executemany
or COPY per table). A row that cannot land gets an error and nothing of it is written. The engine
runs each batch in its own transaction.

``run`` holds what a run knows across batches, ``base`` the importer classes, ``registry`` the
kinds by name. A new kind is a module here with an ``Importer`` subclass, listed in ``registry``.
"""
