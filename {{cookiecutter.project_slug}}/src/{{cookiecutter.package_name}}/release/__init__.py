"""Release: register models, gate challenger against champion, promote, roll back, export."""
