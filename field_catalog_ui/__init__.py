"""FieldCat field_catalog_ui."""
