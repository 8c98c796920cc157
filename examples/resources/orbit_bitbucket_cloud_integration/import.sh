# An integration is imported by its id. Write-only tokens cannot be read back:
# set api_token_wo (and api_token_wo_version) in the configuration afterwards.
terraform import orbit_bitbucket_cloud_integration.main 01hzx3k4m5n6p7q8r9s0t1v2w3
