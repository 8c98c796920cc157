# A webhook is imported by integration_id/namespace/repository/hook_id. The hook id is
# the {uuid} on Bitbucket Cloud and the number on Data Center. A hook that has a
# secret is taken to have the integration's current one (Bitbucket does not show it).
terraform import orbit_bitbucket_repository_webhook.infra 'main-cloud-4fj2k8s1qd/acme/infra/{0b9f9a3e-2c4d-4e5f-8a6b-7c8d9e0f1a2b}'
terraform import orbit_bitbucket_repository_webhook.dc_infra corp-datacenter-h7t2x9q4mb/PLAT/infra/12
