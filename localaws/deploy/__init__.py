"""Deploying a synthesized cloud assembly (``cdk.out``) onto moto, resource by resource, through boto3."""
