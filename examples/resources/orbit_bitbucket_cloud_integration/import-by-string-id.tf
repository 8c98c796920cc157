# Terraform 1.5 and later. A configuration written by
# `terraform plan -generate-config-out=generated.tf` has no token (orbit-server never
# returns one): add api_token_wo and api_token_wo_version to it before applying.
import {
  to = orbit_bitbucket_cloud_integration.main
  id = "main-cloud-4fj2k8s1qd"
}
