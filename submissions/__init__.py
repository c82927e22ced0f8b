"""FieldCat submissions."""
