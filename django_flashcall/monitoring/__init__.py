"""The numbers staff watch: aggregates (``stats``), their data shapes
(``report``), the SVG charts (``charts``) and the provider's delivery status
(``delivery``). Used by the admin's monitoring page and the commands."""
