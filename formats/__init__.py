"""FieldCat formats."""
