"""The HTTP toolkit beneath the API (`archive_center.routers`) and the pages
(`field_catalog_ui`): typed request dependencies (`deps`), sign-in, cookies and CSRF (`auth`,
`sign_in`, `form_upload`), download responses, the search's parameters, and the one error
path (`errors`: a problem document or the registered HTML page, by `Accept`)."""
