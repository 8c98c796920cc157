# A webhook is imported by integration_id/namespace/repository/hook_id. The hook id is
# the {uuid} on Bitbucket Cloud and the number on Data Center. A hook that has a
# secret is taken to have the integration's current one (Bitbucket does not show it).
terraform import orbit_bitbucket_repository_webhook.infra '01hzx3k4m5n6p7q8r9s0t1v2w3/acme/infra/{0b9f9a3e-2c4d-4e5f-8a6b-7c8d9e0f1a2b}'
terraform import orbit_bitbucket_repository_webhook.dc_infra 01hzx3k4m5n6p7q8r9s0t1v2w4/PLAT/infra/12
