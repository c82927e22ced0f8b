"""FieldCat catalog."""
