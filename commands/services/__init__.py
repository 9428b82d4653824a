"""Services: the functions that change the database, check who may, and write the audit
log. They never commit; the command's transaction does, once."""
