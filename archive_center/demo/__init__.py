"""`fieldcat demo`: a synthetic INDOEX-like campaign, seeding, and a three-center launcher."""
