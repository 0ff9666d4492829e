"""orderflow's embedded local AWS: moto in-process, serving the synthesized CDK template on 127.0.0.1.

Kept import-light on purpose: ``localaws.lambda_.worker`` runs inside every Lambda worker process.
"""
