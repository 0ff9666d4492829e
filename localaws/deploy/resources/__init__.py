"""One module per AWS service: how each CloudFormation resource type of that service is deployed locally."""
