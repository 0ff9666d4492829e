"""Everything we change in moto, each change with its reason.

``registry`` lists every moto internal we touch (a guard test resolves them all) and gives the one patch
lifecycle, ``PatchSet``; ``corrections`` are answers of moto that differ from AWS; ``speedups`` make moto's
hot paths cheaper without changing an answer, one module per moto service; ``direct_dispatch`` lets a Step
Functions task call a backend without botocore's HTTP round trip.
"""
