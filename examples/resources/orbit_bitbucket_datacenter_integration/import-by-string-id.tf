# Terraform 1.5 and later. A configuration written by
# `terraform plan -generate-config-out=generated.tf` has no token (orbit-server never
# returns one): add access_token_wo and access_token_wo_version to it before applying.
import {
  to = orbit_bitbucket_datacenter_integration.default
  id = "corp-bitbucket-9p2w7m4kzt"
}
