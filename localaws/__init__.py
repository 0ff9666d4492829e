"""orderflow's embedded local AWS: moto in-process, serving the synthesized CDK template on 127.0.0.1.

Kept import-light on purpose: ``localaws.lambda_.worker`` runs inside every Lambda worker process.
"""

from localaws import lazy_moto

# moto's Batch package (and EC2's models with it) runs when something reads from it, not at every start.
lazy_moto.install()
