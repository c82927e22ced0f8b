"""FieldCat archive_center."""
