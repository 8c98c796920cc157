# An integration is imported by its id (the name, a dash and ten random characters,
# as orbit-server makes it). Write-only tokens cannot be read back: set api_token_wo
# and api_token_wo_version in the configuration afterwards.
terraform import orbit_bitbucket_cloud_integration.main main-cloud-4fj2k8s1qd
