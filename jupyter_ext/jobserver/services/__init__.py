"""The job server's domain layer: every rule and every write, one module per noun.

Routes, pages, the admin command line and the sweeper are faces over it. A service
function is one act: it takes plain arguments (a session, the `Caller`, a pydantic
model or values), checks the rules (who may, through `caller.require`; what may,
through the state tables), changes states only through `transitions.move`, audits,
commits, and returns rows. It never sees a request, a response or a template; faces
turn its rows into views (`jobserver/views.py`) or pages.
"""
