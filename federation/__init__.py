"""FieldCat federation."""
