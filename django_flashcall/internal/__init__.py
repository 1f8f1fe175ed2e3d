"""The machinery behind :mod:`django_flashcall.services`; not a public API.

- ``limits``: the per-phone and site-wide spend guards, and their locks;
- ``breaker``: the provider circuit breaker (state in the shared cache);
- ``rates``, ``net``: per-IP rates as django-ratelimit reads them, client IPs;
- ``cache``: the shared cache, guarded so an outage fails closed;
- ``codes``: parsing and hashing codes;
- ``clock``: the one clock tests can move;
- ``abuse``: the pumping guards (hot ranges and networks, conversion) and the challenge;
- ``users``, ``login``: phone ↔ user, and what ``FLASHCALL_LOGIN`` does on confirm.

Names here may change in any release; import from the top-level modules.
"""
