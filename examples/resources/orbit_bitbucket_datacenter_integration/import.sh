# An integration is imported by its id (the name, a dash and ten random characters,
# as orbit-server makes it). Write-only tokens cannot be read back: set
# access_token_wo and access_token_wo_version in the configuration afterwards.
terraform import orbit_bitbucket_datacenter_integration.default corp-bitbucket-9p2w7m4kzt
